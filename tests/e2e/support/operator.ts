// Operator mode on the bed, two ways:
// - the real DataMover operator (built from its source, see tests/testbed/bed.ts) acts
//   only in namespaces labelled for it, where the bed's job-runner runs its Job pods for
//   real: useRealOperatorNamespace();
// - elsewhere tests can play the operator: they make the clone and the Job the way the
//   operator does, give the Job pod a log (a kwok Logs resource), and write the
//   DataMover's status subresource (setPhase, makeCloneAndJob).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyYaml, bed, createBoundPvc, kubectl, useNamespace } from './bed.ts';
import { createStorageSecret, emptyBucket } from './storage.ts';

/** Why the real operator is not running on the bed, or undefined when it is. */
export function realOperatorMissing(): string | undefined {
  const operator = bed().operator;
  return 'missing' in operator ? operator.missing : undefined;
}

/**
 * A fresh namespace per test where the real operator acts (and the job-runner runs its Job pods);
 * the tests of the enclosing describe are skipped, with one line saying why, when it does not run.
 */
export function useRealOperatorNamespace(prefix = 'real'): { name: string } {
  before(function () {
    const missing = realOperatorMissing();
    if (missing) {
      process.stderr.write(`      skipped: the real DataMover operator is not running: ${missing}\n`);
      this.skip();
    }
  });
  const ns = useNamespace(prefix);
  beforeEach(async () => {
    const operator = bed().operator;
    if ('namespaceLabel' in operator) await kubectl(['label', 'namespace', ns.name, `${operator.namespaceLabel}=real`]);
  });
  return ns;
}

export async function setPhase(
  namespace: string,
  name: string,
  phase: string,
  restoredPvcName?: string,
): Promise<void> {
  const status = { phase, ...(restoredPvcName ? { restoredPvcName } : {}) };
  await kubectl([
    'patch',
    'datamover',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

/** What the operator makes for a DataMover: the clone, then Job verify-<clone> whose pod logs `logLines`. */
export async function makeCloneAndJob(
  namespace: string,
  pvc: string,
  secret: string,
  logLines: string[],
): Promise<{ clone: string; job: string; pod: string }> {
  const { clone, job } = await applyCloneAndJob(namespace, pvc, secret);
  let pod = '';
  for (let i = 0; i < 100 && !pod; i++) {
    pod = String(
      (
        await kubectl(
          ['get', 'pods', '-n', namespace, '-l', `job-name=${job}`, '-o', 'jsonpath={.items[0].metadata.name}'],
          { reject: false },
        )
      ).stdout,
    ).trim();
    if (!pod) await new Promise((r) => setTimeout(r, 100));
  }
  await givePodLog(namespace, pod, logLines);
  return { clone, job, pod };
}

/** The clone and the Job as the operator makes them; `podLabels` go on the Job's pod template. */
export async function applyCloneAndJob(
  namespace: string,
  pvc: string,
  secret: string,
  podLabels: Record<string, string> = {},
): Promise<{ clone: string; job: string }> {
  const clone = `${pvc}-cloned-${Math.floor(Date.now() / 1000)}`;
  const job = `verify-${clone}`;
  await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${clone}, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {kind: PersistentVolumeClaim, name: ${pvc}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: ${job}, namespace: ${namespace}}
spec:
  backoffLimit: 2
  template:
    metadata: {labels: ${JSON.stringify(podLabels)}}
    spec:
      restartPolicy: Never
      containers:
      - name: rclone
        image: ghcr.io/qjoly/datamover-rclone:latest
        workingDir: /data
        envFrom: [{secretRef: {name: ${secret}}}]
        volumeMounts: [{name: data, mountPath: /data/}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: ${clone}}}]
`);
  return { clone, job };
}

/** Gives the pod a log (a kwok Logs resource), and waits until it can be read, like a running container's. */
export async function givePodLog(namespace: string, pod: string, logLines: string[]): Promise<void> {
  const logDir = join(bed().dir, 'pod-logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${namespace}-${pod}.log`);
  // The container runtime's (CRI) log format, which kwok parses as a kubelet does.
  writeFileSync(logFile, logLines.map((l) => `${new Date().toISOString()} stdout F ${l}\n`).join(''));
  await applyYaml(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: Logs
metadata: {name: ${pod}, namespace: ${namespace}}
spec:
  logs:
  - containers: [rclone]
    logsFile: ${logFile}
`);
  for (let i = 0; i < 100; i++) {
    const log = await kubectl(['logs', pod, '-n', namespace], { reject: false });
    if (log.exitCode === 0 && String(log.stdout).includes(logLines[0]!)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the log of pod ${pod} could not be read`);
}

/** A small tree with what a volume holds: nested folders, an empty file, a name with spaces, a private file. */
export function fillVolume(folder: string): void {
  mkdirSync(join(folder, 'deep', 'er'), { recursive: true });
  writeFileSync(join(folder, 'hello.txt'), 'hello from the PVC\n');
  writeFileSync(join(folder, 'deep', 'er', 'bytes.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251)));
  writeFileSync(join(folder, 'empty'), '');
  writeFileSync(join(folder, 'with spaces.txt'), 'spaces\n');
  // Root's and unreadable by the pod's user (65534) but for the volume's fsGroup, as on a real node.
  writeFileSync(join(folder, 'private.key'), 'secret bytes\n');
  chmodSync(join(folder, 'private.key'), 0o600);
}

/**
 * A fresh namespace per test where the real operator acts, holding PVC "data" (filled by fillVolume)
 * and Secret "s3" for the bed's storage, and an empty bucket; `volume.folder` is the PVC's folder.
 */
export function useRealOperatorVolume(): { ns: { name: string }; volume: { folder: string } } {
  const ns = useRealOperatorNamespace();
  const volume = { folder: '' };
  beforeEach(async () => {
    emptyBucket();
    volume.folder = await createBoundPvc(ns.name, 'data');
    fillVolume(volume.folder);
    // The operator's entrypoint defaults differ from the plugin's (TLS_HOST true, BUCKET_PORT 443): all explicit.
    await createStorageSecret(ns.name, 's3', { TLS_HOST: 'false' });
  });
  return { ns, volume };
}
