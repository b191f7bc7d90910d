// `check --in-cluster`: the same list and write/delete probes, run by rclone in
// a short-lived pod, so a user learns whether the cluster itself (its network,
// proxies, egress policy, DNS) reaches the storage. The credentials reach the
// pod as secretKeyRef env vars: they are never in the pod spec or in argv.
// The pod is created through the flow runner, so Ctrl-C/SIGTERM removes it.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { captureFromPod, stderrLastLine } from '../stream/exec-channel.ts';
import { knownRcloneError } from '../rclone/run.ts';
import type { StorageSettings } from '../destination/storage-secret.ts';
import { destinationFromSecret, SECRET_REMOTE_NAME } from '../destination/destination.ts';
import { PROBE_CONTENT, probeCommands, writeProbePath } from '../rclone/probe.ts';
import { UserError } from '../errors.ts';
import { runFlow, type Flow } from '../flow/runner.ts';
import { startPod } from '../flow/pods.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { probe, type CheckResult } from './result.ts';

/** The operator's rclone image (its CRD default). */
export const OPERATOR_RCLONE_IMAGE = 'ghcr.io/qjoly/datamover-rclone:latest';
const CONTAINER = 'rclone';

export interface InClusterCheck {
  namespace: string;
  secret: string;
  settings: StorageSettings;
  image: string;
  timeoutMs: number;
}

// The remote's credentials come from these Secret keys; every other setting is a plain value.
const PREFIX = `RCLONE_CONFIG_${SECRET_REMOTE_NAME}_`;
const CREDENTIAL_KEYS: Record<string, string> = {
  [`${PREFIX}ACCESS_KEY_ID`]: 'AWS_ACCESS_KEY_ID',
  [`${PREFIX}SECRET_ACCESS_KEY`]: 'AWS_SECRET_ACCESS_KEY',
};

/** The same remote the local rclone gets (destinationFromSecret), with the credentials as secretKeyRefs. */
function remoteEnv(check: InClusterCheck): V1EnvVar[] {
  return Object.entries(destinationFromSecret(check.settings, check.secret).env).map(([name, value]) =>
    CREDENTIAL_KEYS[name]
      ? { name, valueFrom: { secretKeyRef: { name: check.secret, key: CREDENTIAL_KEYS[name] } } }
      : { name, value },
  );
}

export function buildCheckPod(check: InClusterCheck, name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: check.namespace, labels: { ...MANAGED_BY, [RUN_LABEL]: name } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      activeDeadlineSeconds: Math.ceil(check.timeoutMs / 1000) + 300,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: CONTAINER,
          image: check.image,
          command: ['sleep', String(Math.ceil(check.timeoutMs / 1000) + 300)],
          workingDir: '/tmp',
          env: [{ name: 'HOME', value: '/tmp' }, ...remoteEnv(check)],
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          },
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}

export async function checkFromCluster(kube: KubeConnection, check: InClusterCheck): Promise<CheckResult[]> {
  // The results are the output: the flow is there for its cleanup, so it shows no progress.
  return runFlow({ progress: chooseRenderer({ tty: false, quiet: true }) }, (flow) => probeFromPod(flow, kube, check));
}

async function probeFromPod(flow: Flow, kube: KubeConnection, check: InClusterCheck): Promise<CheckResult[]> {
  const name = `datamover-check-${randomBytes(3).toString('hex')}`;
  const root = destinationFromSecret(check.settings, check.secret).root;
  const where = `from pod ${name} (${check.image})`;
  const results: CheckResult[] = [];
  const started = await probe(`start a pod in namespace ${check.namespace}`, async () => {
    return startPod(kube, flow, buildCheckPod(check, name), check.timeoutMs, { what: 'pod', imageFlag: '--image' });
  });
  results.push(started);
  if (!started.ok) return results;
  const rclone = (args: string[], what: string, input?: string) =>
    probe(`${what} ${where}`, () => rcloneInPod(kube, check.namespace, name, args, input, flow.signal));
  const listed = await rclone(probeCommands.list(root), `list s3://${check.settings.bucket}`);
  results.push(listed);
  if (!listed.ok) return results;
  const probePath = writeProbePath(root);
  const wrote = await rclone(probeCommands.write(probePath), 'write a test object', PROBE_CONTENT);
  results.push(wrote);
  if (wrote.ok) results.push(await rclone(probeCommands.delete(probePath), 'delete the test object'));
  return results;
}

async function rcloneInPod(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  args: string[],
  input: string | undefined,
  signal: AbortSignal,
): Promise<void> {
  const { result } = await captureFromPod(kube, {
    namespace,
    pod,
    container: CONTAINER,
    command: ['rclone', ...args],
    stdin: input === undefined ? undefined : Readable.from([Buffer.from(input)]),
    signal,
  });
  if (result.exitCode === 0) return;
  const known = knownRcloneError(result.stderrTail);
  if (known) throw new UserError(known.message, known.fix);
  throw new UserError(
    `rclone exited with ${result.exitCode}: ${stderrLastLine(result)}`,
    'check the image has rclone (--image) and the network policy lets the pod reach the storage',
  );
}
