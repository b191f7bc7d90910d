// The bed's storage driver and pod wiring, run as its own process by the bed:
// - binds PVCs of the bed's StorageClasses to PVs backed by local folders, and
//   for a PVC whose dataSource is another PVC copies the source folder (what a
//   CSI driver's clone does); a StorageClass with `cloning: unsupported`
//   refuses clones with a ProvisioningFailed event, like a driver without it;
// - deletes the folder and the PV when a Delete-policy PV is released;
// - writes a kwok Exec for every pod, so that exec into a container runs the
//   command locally in the folder behind the container's workingDir.
// It is level-triggered: every tick compares the cluster with what should be.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, renameSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
  type V1Container,
} from '@kubernetes/client-node';
import { EXEC_WIRING_GATE, PROVISIONER } from './cluster.ts';
import { statePaths } from './paths.ts';
import { log, reconcileUntilStopped } from './controller-loop.ts';

const run = promisify(execFile);
const paths = statePaths(process.argv[2]);
const kc = new KubeConfig();
kc.loadFromFile(paths.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const storage = kc.makeApiClient(StorageV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const EXEC = { group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'execs' };
const reported = new Set<string>();

async function provision(
  pvc: V1PersistentVolumeClaim,
  sc: V1StorageClass,
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): Promise<void> {
  const { name, namespace, uid } = pvc.metadata as Required<
    Pick<NonNullable<V1PersistentVolumeClaim['metadata']>, 'name' | 'namespace' | 'uid'>
  >;
  const folder = join(paths.volumes, `pvc-${uid}`);
  const source = pvc.spec?.dataSource;
  if (source?.kind === 'PersistentVolumeClaim') {
    if (sc.parameters?.cloning === 'unsupported') {
      await warnOnce(
        pvc,
        'ProvisioningFailed',
        `StorageClass ${sc.metadata?.name} does not support cloning (dataSource ${source.name})`,
      );
      return;
    }
    const sourceClaim = claims.find((c) => c.metadata?.namespace === namespace && c.metadata?.name === source.name);
    const sourceVolume = volumes.find((v) => v.metadata?.name === sourceClaim?.spec?.volumeName);
    if (sourceClaim?.status?.phase !== 'Bound' || !sourceVolume?.spec?.hostPath?.path) return; // retried next tick
    const staging = `${folder}.copying`;
    rmSync(staging, { recursive: true, force: true });
    await run('cp', ['-a', `${sourceVolume.spec.hostPath.path}/.`, `${staging}/`]).catch(async () => {
      mkdirSync(staging, { recursive: true, mode: 0o777 });
      await run('cp', ['-a', `${sourceVolume.spec!.hostPath!.path}/.`, staging]);
    });
    renameSync(staging, folder);
    log(`cloned ${namespace}/${source.name} into ${namespace}/${name}`);
  } else {
    mkdirSync(folder, { recursive: true, mode: 0o777 });
  }
  await core.createPersistentVolume({
    body: {
      metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: sc.metadata?.name,
        volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
        hostPath: { path: folder, type: 'Directory' },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
      },
    },
  });
  log(`provisioned ${namespace}/${name} at ${folder}`);
}

async function warnOnce(pvc: V1PersistentVolumeClaim, reason: string, message: string): Promise<void> {
  const key = `${pvc.metadata?.uid}/${reason}`;
  if (reported.has(key)) return;
  reported.add(key);
  const now = new Date();
  await core.createNamespacedEvent({
    namespace: pvc.metadata!.namespace!,
    body: {
      metadata: { generateName: `${pvc.metadata!.name}.` },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        name: pvc.metadata!.name,
        namespace: pvc.metadata!.namespace,
        uid: pvc.metadata!.uid,
      },
      reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: PROVISIONER },
    },
  });
  log(`${reason}: ${pvc.metadata!.namespace}/${pvc.metadata!.name}: ${message}`);
}

async function reclaim(volume: V1PersistentVolume): Promise<void> {
  const folder = volume.spec?.hostPath?.path;
  if (folder?.startsWith(paths.volumes)) rmSync(folder, { recursive: true, force: true });
  await core.deletePersistentVolume({ name: volume.metadata!.name! });
  log(`deleted released volume ${volume.metadata!.name}`);
}

/** The local folder behind a container's workingDir, or undefined while its PVC is not bound yet. */
function workDirOf(
  pod: V1Pod,
  container: V1Container,
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): string | undefined {
  const namespace = pod.metadata!.namespace!;
  const scratch = join(paths.scratch, namespace, pod.metadata!.name!, container.name);
  const workingDir = container.workingDir ?? '/';
  const mount = (container.volumeMounts ?? [])
    .filter((m) => workingDir === m.mountPath || workingDir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const claimName = pod.spec?.volumes?.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName;
  if (!mount || !claimName) {
    mkdirSync(scratch, { recursive: true });
    return scratch;
  }
  const claim = claims.find((c) => c.metadata?.namespace === namespace && c.metadata?.name === claimName);
  const folder = volumes.find((v) => v.metadata?.name === claim?.spec?.volumeName)?.spec?.hostPath?.path;
  if (!folder || !existsSync(folder)) return undefined;
  return join(folder, mount.subPath ?? '', relative(mount.mountPath, workingDir));
}

/** What a kubelet gives the container: its env values, secretKeyRef resolved (PATH and HOME stay the bed's). */
async function containerEnv(pod: V1Pod, container: V1Container): Promise<Array<{ name: string; value: string }>> {
  const envs = [];
  for (const env of container.env ?? []) {
    if (env.name === 'PATH' || env.name === 'HOME') continue;
    const ref = env.valueFrom?.secretKeyRef;
    if (!ref) {
      envs.push({ name: env.name, value: env.value ?? '' });
      continue;
    }
    const secret = await core
      .readNamespacedSecret({ name: ref.name!, namespace: pod.metadata!.namespace! })
      .catch(() => undefined);
    const value = secret?.data?.[ref.key];
    if (value !== undefined) envs.push({ name: env.name, value: Buffer.from(value, 'base64').toString('utf8') });
  }
  return envs;
}

async function wireExec(pod: V1Pod, claims: V1PersistentVolumeClaim[], volumes: V1PersistentVolume[]): Promise<void> {
  const execs = [];
  for (const container of pod.spec?.containers ?? []) {
    const workDir = workDirOf(pod, container, claims, volumes);
    if (!workDir) return; // retried next tick, once the PVC is bound
    // Images share the host's busybox applets and the pinned rclone (for rclone images).
    const path = `${paths.busybox}:${dirname(process.env.DATAMOVER_RCLONE_NEW ?? '/nonexistent/rclone')}`;
    const envs = [
      { name: 'PATH', value: path },
      { name: 'HOME', value: workDir },
      ...(await containerEnv(pod, container)),
    ];
    execs.push({ containers: [container.name], local: { workDir, envs } });
  }
  await custom.createNamespacedCustomObject({
    ...EXEC,
    namespace: pod.metadata!.namespace!,
    body: {
      apiVersion: `${EXEC.group}/${EXEC.version}`,
      kind: 'Exec',
      metadata: {
        name: pod.metadata!.name,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata!.name!,
            uid: pod.metadata!.uid!,
            blockOwnerDeletion: false,
          },
        ],
      },
      spec: { execs },
    },
  });
  log(`wired exec for pod ${pod.metadata!.namespace}/${pod.metadata!.name}`);
}

/** Lets the scheduler place the pod, once kwok-controller has had time to see its Exec. */
async function releaseGate(pod: V1Pod): Promise<void> {
  const index = pod.spec?.schedulingGates?.findIndex((g) => g.name === EXEC_WIRING_GATE) ?? -1;
  if (index < 0) return;
  await sleep(300);
  await core.patchNamespacedPod(
    {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      body: [
        { op: 'test', path: `/spec/schedulingGates/${index}/name`, value: EXEC_WIRING_GATE },
        { op: 'remove', path: `/spec/schedulingGates/${index}` },
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

async function reconcile(): Promise<void> {
  const [classes, claims, volumes, pods, execs] = await Promise.all([
    storage.listStorageClass(),
    core.listPersistentVolumeClaimForAllNamespaces(),
    core.listPersistentVolume(),
    core.listPodForAllNamespaces(),
    custom.listClusterCustomObject(EXEC) as Promise<{
      items: Array<{ metadata: { name: string; namespace: string; ownerReferences?: Array<{ uid: string }> } }>;
    }>,
  ]);
  const ours = new Map(
    classes.items.filter((sc) => sc.provisioner === PROVISIONER).map((sc) => [sc.metadata!.name!, sc]),
  );
  for (const pvc of claims.items) {
    const sc = ours.get(pvc.spec?.storageClassName ?? '');
    const hasVolume = volumes.items.some((v) => v.spec?.claimRef?.uid === pvc.metadata?.uid);
    if (sc && pvc.status?.phase === 'Pending' && !pvc.metadata?.deletionTimestamp && !hasVolume)
      await provision(pvc, sc, claims.items, volumes.items);
  }
  for (const volume of volumes.items) {
    const ownedByUs = volume.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER;
    if (
      ownedByUs &&
      volume.status?.phase === 'Released' &&
      volume.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
      !volume.metadata?.deletionTimestamp
    )
      await reclaim(volume);
  }
  const wired = new Set(
    execs.items.map((e) => `${e.metadata.namespace}/${e.metadata.name}/${e.metadata.ownerReferences?.[0]?.uid}`),
  );
  for (const pod of pods.items) {
    if (pod.metadata?.deletionTimestamp) continue;
    try {
      if (!wired.has(`${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`))
        await wireExec(pod, claims.items, volumes.items);
      else await releaseGate(pod);
    } catch (err) {
      log(`exec wiring for ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

mkdirSync(paths.volumes, { recursive: true });
log('provisioner started');
await reconcileUntilStopped(reconcile, 150);
