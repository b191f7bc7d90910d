// The bed's storage driver and pod wiring, run as its own process by the bed:
// - binds PVCs of the bed's StorageClasses to PVs backed by local folders, and
//   for a PVC whose dataSource is another PVC copies the source folder (what a
//   CSI driver's clone does); a StorageClass with `cloning: unsupported`
//   refuses clones with a ProvisioningFailed event, like a driver without it; a StorageClass with
//   `transientFailures: N` fails each claim's first N attempts (a transient error); a failed attempt is
//   retried with exponential backoff, its event's count growing, as an external-provisioner does;
//   a WaitForFirstConsumer claim is provisioned once the scheduler has picked a node
//   for a pod that uses it (its selected-node annotation), as an external-provisioner does;
//   the CSI driver's classes (CSI_DRIVER) make CSI PVs, and provision a PVC whose dataSource is a
//   VolumeSnapshot from the snapshot's copy, after the external-provisioner's checks;
// - plays the CSI driver's snapshotter for VolumeSnapshotContents (snapshotter.ts);
// - deletes the folder and the PV when a Delete-policy PV is released;
// - writes a kwok Exec for every pod (exec-wiring.ts), so that exec into a container runs the
//   command in the container's sandbox.
// - plays the kubelet's checks before a container starts (kubelet-checks.ts): a pod with an
//   image the node does not have, or an env reference to a missing Secret, ConfigMap or key, is
//   held (never Running) with the container status a kubelet would write;
// - plays the attach-detach controller's ReadWriteOnce rule (attach.ts): a pod whose volume is
//   attached to another node is held with a Multi-Attach error;
// - fails pods past their activeDeadlineSeconds, as a kubelet does (deadlines.ts).
// It is level-triggered: every tick compares the cluster with what should be.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { CSI_DRIVER, EXEC_WIRING_GATE, HELD_LABEL, JOB_RUNNER_LABEL, PROVISIONER } from './cluster.ts';
import { kubeletRefusal, writeRefusal } from './kubelet-checks.ts';
import { statePaths } from './paths.ts';
import { isNotFound, recordEvent } from './api-writes.ts';
import { log } from './controller-loop.ts';
import { reconcileOnChange, watched } from './informers.ts';
import { EXEC, hasStopped, killExecsOfGonePods, wireExec } from './exec-wiring.ts';
import { type AttachState, attachStates, writeMultiAttach } from './attach.ts';
import { failPastDeadline, pastDeadline } from './deadlines.ts';
import { reconcileSnapshots, snapshotSource } from './snapshotter.ts';
import { pvFolder } from './volume-folder.ts';

const run = promisify(execFile);
const paths = statePaths(process.argv[2]);
const kc = new KubeConfig();
kc.loadFromFile(paths.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const storage = kc.makeApiClient(StorageV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
/** A claim's failed provisioning attempts: how many, when the next is due, its event (per message). */
const attempts = new Map<string, { failures: number; retryAt: number; events: Map<string, string> }>();
/** Set by the scheduler on a WaitForFirstConsumer claim: the node of the first pod that uses it. */
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

async function provision(
  pvc: V1PersistentVolumeClaim,
  sc: V1StorageClass,
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): Promise<boolean> {
  const { name, namespace, uid } = pvc.metadata as Required<
    Pick<NonNullable<V1PersistentVolumeClaim['metadata']>, 'name' | 'namespace' | 'uid'>
  >;
  const node = pvc.metadata?.annotations?.[SELECTED_NODE];
  if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !node) return false; // until a pod using it is scheduled
  const tried = attempts.get(uid);
  if (tried && Date.now() < tried.retryAt) return false; // backing off
  if ((tried?.failures ?? 0) < Number(sc.parameters?.transientFailures ?? 0))
    return failAttempt(
      pvc,
      `failed to provision volume with StorageClass "${sc.metadata?.name}": ` +
        'rpc error: code = Unavailable desc = the storage backend is busy, try again',
    );
  const folder = join(paths.volumes, `pvc-${uid}`);
  const source = pvc.spec?.dataSource;
  if (source?.kind === 'PersistentVolumeClaim') {
    if (sc.parameters?.cloning === 'unsupported')
      return failAttempt(pvc, `StorageClass ${sc.metadata?.name} does not support cloning (dataSource ${source.name})`);
    const sourceClaim = claims.find((c) => c.metadata?.namespace === namespace && c.metadata?.name === source.name);
    const sourceFolder = pvFolder(volumes.find((v) => v.metadata?.name === sourceClaim?.spec?.volumeName));
    if (sourceClaim?.status?.phase !== 'Bound' || !sourceFolder) return false; // retried next tick
    await copyFolder(sourceFolder, folder);
    log(`cloned ${namespace}/${source.name} into ${namespace}/${name}`);
  } else if (source?.kind === 'VolumeSnapshot' && source.apiGroup === 'snapshot.storage.k8s.io') {
    const snapshot = await snapshotSource(custom, paths, pvc, sc.provisioner);
    if ('error' in snapshot) return failAttempt(pvc, snapshot.error);
    await copyFolder(snapshot.folder, folder);
    log(`restored snapshot ${namespace}/${source.name} into ${namespace}/${name}`);
  } else {
    mkdirSync(folder, { recursive: true, mode: 0o777 });
  }
  // The CSI driver's volumes are CSI PVs (what the snapshot-controller needs); the others, hostPath PVs.
  const volumeSource =
    sc.provisioner === CSI_DRIVER
      ? { csi: { driver: CSI_DRIVER, volumeHandle: `pvc-${uid}`, volumeAttributes: { path: folder } } }
      : { hostPath: { path: folder, type: 'Directory' } };
  await core.createPersistentVolume({
    body: {
      metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': sc.provisioner } },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: sc.metadata?.name,
        volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
        ...volumeSource,
        // The volume is on the node the scheduler picked, as a local volume is.
        nodeAffinity: node
          ? {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
                ],
              },
            }
          : undefined,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
      },
    },
  });
  log(`provisioned ${namespace}/${name} at ${folder}`);
  return true;
}

function unlessNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

/** A clone or a restore: `from` copied whole, under a staging name until complete. */
async function copyFolder(from: string, folder: string): Promise<void> {
  const staging = `${folder}.copying`;
  rmSync(staging, { recursive: true, force: true });
  await run('cp', ['-a', `${from}/.`, `${staging}/`]).catch(async () => {
    mkdirSync(staging, { recursive: true, mode: 0o777 });
    await run('cp', ['-a', `${from}/.`, staging]);
  });
  renameSync(staging, folder);
}

/**
 * A failed provisioning attempt, as an external-provisioner reports it: a ProvisioningFailed event (the
 * same message again raises its count), and a retry after 1, 2, 4... seconds (at most 30).
 */
async function failAttempt(pvc: V1PersistentVolumeClaim, message: string): Promise<false> {
  const uid = pvc.metadata!.uid!;
  const tried = attempts.get(uid) ?? { failures: 0, retryAt: 0, events: new Map<string, string>() };
  attempts.set(uid, tried);
  tried.failures++;
  tried.retryAt = Date.now() + Math.min(1000 * 2 ** (tried.failures - 1), 30_000);
  const namespace = pvc.metadata!.namespace!;
  const now = new Date();
  const event = tried.events.get(message);
  if (event) {
    const current = await core.readNamespacedEvent({ name: event, namespace });
    await core.patchNamespacedEvent(
      { name: event, namespace, body: { count: (current.count ?? 1) + 1, lastTimestamp: now } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } else {
    const created = await warn(pvc, 'ProvisioningFailed', message);
    tried.events.set(message, created);
  }
  log(`ProvisioningFailed (attempt ${tried.failures}): ${namespace}/${pvc.metadata!.name}: ${message}`);
  return false; // not provisioned
}

/** Creates a Warning event on the claim; its name. */
async function warn(pvc: V1PersistentVolumeClaim, reason: string, message: string): Promise<string> {
  const { name, namespace, uid } = pvc.metadata as { name: string; namespace: string; uid: string };
  return recordEvent(
    core,
    { kind: 'PersistentVolumeClaim', name, namespace, uid },
    { reason, message, type: 'Warning', source: { component: PROVISIONER } },
  );
}

async function reclaim(volume: V1PersistentVolume): Promise<void> {
  const folder = pvFolder(volume);
  if (folder?.startsWith(paths.volumes)) rmSync(folder, { recursive: true, force: true });
  await core.deletePersistentVolume({ name: volume.metadata!.name! }).catch(unlessNotFound);
  log(`deleted released volume ${volume.metadata!.name}`);
}

/** Lets the scheduler place the pod, once kwok-controller has had time to see its Exec. */
async function releaseGate(pod: V1Pod): Promise<void> {
  const index = pod.spec?.schedulingGates?.findIndex((g) => g.name === EXEC_WIRING_GATE) ?? -1;
  if (index < 0 || releasedHere.has(pod.metadata!.uid!)) return;
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
  releasedHere.add(pod.metadata!.uid!);
}

/**
 * The kubelet's part before a container starts. A gated pod is released once its exec is wired; a pod
 * that a kubelet would refuse, or whose exec cannot be wired before it is scheduled (its PVC waits for
 * its first consumer), is released held (HELD_LABEL), and let go once nothing holds it any more. A pod
 * with a ReadWriteOnce volume is released held too, until the volume is attached on its node (the
 * kubelet waits for the attach before anything else, so this comes first).
 */
async function admit(pod: V1Pod, wired: boolean, waitsForConsumer: boolean, attach: AttachState): Promise<void> {
  const gated = pod.spec?.schedulingGates?.some((g) => g.name === EXEC_WIRING_GATE);
  const held = pod.metadata?.labels?.[HELD_LABEL];
  if (!gated && !held) return;
  // The job-runner is the kubelet of its pods.
  const ours = !pod.metadata?.labels?.[JOB_RUNNER_LABEL];
  const refusal = ours ? await kubeletRefusal(core, pod) : undefined;
  const attachHolds: Partial<Record<AttachState['kind'], string>> = {
    waiting: 'WaitingForAttach',
    multiAttach: 'MultiAttach',
  };
  const attachHold = ours ? attachHolds[attach.kind] : undefined;
  const execHold = wired ? undefined : 'ExecNotWired';
  const hold = attachHold ?? refusal?.reason ?? execHold;
  if (gated) {
    if (execHold && !refusal && !waitsForConsumer) return; // next tick, once its exec is wired
    if (hold) await setHold(pod, hold);
    return releaseGate(pod);
  }
  if (hold !== held) {
    if (!hold && held === 'ExecNotWired') await sleep(300); // kwok-controller sees the Exec before the pod runs
    await setHold(pod, hold);
  }
  if (attach.kind === 'multiAttach' && attachHold) await writeMultiAttach(core, pod, attach.message);
  else if (refusal && pod.spec?.nodeName) await writeRefusal(core, pod, refusal);
}

async function setHold(pod: V1Pod, hold: string | undefined): Promise<void> {
  await core.patchNamespacedPod(
    {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      body: { metadata: { labels: { [HELD_LABEL]: hold ?? null } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  log(`${pod.metadata!.namespace}/${pod.metadata!.name}: ${hold ? `held (${hold})` : 'no longer held'}`);
}

/** Whether a PVC of the pod waits for its first consumer: the scheduler places the pod before it binds. */
function waitsForFirstConsumer(pod: V1Pod, claims: V1PersistentVolumeClaim[], classes: V1StorageClass[]): boolean {
  return (pod.spec?.volumes ?? []).some(({ persistentVolumeClaim: ref }) => {
    const claim = claims.find(
      (c) => c.metadata?.namespace === pod.metadata?.namespace && c.metadata?.name === ref?.claimName,
    );
    const sc = classes.find((c) => c.metadata?.name === claim?.spec?.storageClassName);
    return claim?.status?.phase === 'Pending' && sc?.volumeBindingMode === 'WaitForFirstConsumer';
  });
}

const listExecs = () => custom.listClusterCustomObject(EXEC) as Promise<KubernetesListObject<KubernetesObject>>;
const caches = {
  classes: await watched(kc, '/apis/storage.k8s.io/v1/storageclasses', () => storage.listStorageClass()),
  claims: await watched(kc, '/api/v1/persistentvolumeclaims', () => core.listPersistentVolumeClaimForAllNamespaces()),
  volumes: await watched(kc, '/api/v1/persistentvolumes', () => core.listPersistentVolume()),
  pods: await watched(kc, '/api/v1/pods', () => core.listPodForAllNamespaces()),
  execs: await watched(kc, `/apis/${EXEC.group}/${EXEC.version}/${EXEC.plural}`, listExecs),
};
/**
 * What this process did that its caches may not show yet (a watch event lags the write): claims it made
 * a volume for, and pods whose exec it wired (by namespace/name/uid). Doing either twice would copy a
 * clone's source again or apply a pod's fsGroup again under a running command.
 */
const provisioned = new Set<string>();
const wiredHere = new Set<string>();
/** Pods whose scheduling gate this process removed (by uid). */
const releasedHere = new Set<string>();
let snapshotsListedAt = 0;

async function reconcile(): Promise<void> {
  const [classes, claims, volumes, pods, execs] = [
    caches.classes.list(),
    caches.claims.list(),
    caches.volumes.list(),
    caches.pods.list(),
    caches.execs.list(),
  ];
  const drivers = [PROVISIONER, CSI_DRIVER];
  const ours = new Map(classes.filter((sc) => drivers.includes(sc.provisioner)).map((sc) => [sc.metadata!.name!, sc]));
  for (const pvc of claims) {
    const sc = ours.get(pvc.spec?.storageClassName ?? '');
    const hasVolume = volumes.some((v) => v.spec?.claimRef?.uid === pvc.metadata?.uid);
    const uid = pvc.metadata?.uid ?? '';
    if (
      sc &&
      pvc.status?.phase === 'Pending' &&
      !pvc.metadata?.deletionTimestamp &&
      !hasVolume &&
      !provisioned.has(uid)
    )
      if (await provision(pvc, sc, claims, volumes)) provisioned.add(uid);
  }
  for (const volume of volumes) {
    const ownedByUs = drivers.includes(volume.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] ?? '');
    if (
      ownedByUs &&
      volume.status?.phase === 'Released' &&
      volume.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
      !volume.metadata?.deletionTimestamp
    )
      await reclaim(volume);
  }
  // The snapshots are listed (a cut must not run twice on a lagging cache), at most every 150 ms.
  if (Date.now() - snapshotsListedAt >= 150) {
    snapshotsListedAt = Date.now();
    await reconcileSnapshots(custom, paths, volumes).catch((err) =>
      log(`snapshots: ${(err as Error).message.split('\n')[0]}`),
    );
  }
  for (const pod of pods) {
    // The job-runner is the kubelet of its pods.
    if (pastDeadline(pod) && !pod.metadata?.labels?.[JOB_RUNNER_LABEL])
      await failPastDeadline(core, pod).catch((err) => log(`deadline: ${(err as Error).message.split('\n')[0]}`));
  }
  killExecsOfGonePods(paths, pods);
  const wired = new Set(
    execs.map((e) => `${e.metadata?.namespace}/${e.metadata?.name}/${e.metadata?.ownerReferences?.[0]?.uid}`),
  );
  const attach = attachStates(pods, claims, volumes);
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`;
    try {
      if (hasStopped(pod)) {
        // Its containers are gone: exec into it fails, as on a kubelet.
        if (wired.has(key)) await unwireExec(pod);
        wiredHere.delete(key);
        continue;
      }
      const isWired = wired.has(key) || wiredHere.has(key);
      if (!isWired && (await wireExec(core, custom, paths, pod, claims, volumes))) wiredHere.add(key);
      const state = attach.get(pod.metadata!.uid!) ?? { kind: 'none' };
      await admit(pod, isWired, waitsForFirstConsumer(pod, claims, classes), state);
    } catch (err) {
      log(`exec wiring for ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

async function unwireExec(pod: V1Pod): Promise<void> {
  await custom
    .deleteNamespacedCustomObject({ ...EXEC, namespace: pod.metadata!.namespace!, name: pod.metadata!.name! })
    .catch(unlessNotFound); // deleted already: the cache had not caught up
  log(`unwired exec for stopped pod ${pod.metadata!.namespace}/${pod.metadata!.name}`);
}

mkdirSync(paths.volumes, { recursive: true });
log('provisioner started');
await reconcileOnChange(reconcile, { gapMs: 20, idleMs: 500 });
process.exit(0); // the watches would keep it alive
