// VolumeSnapshots (snapshot.storage.k8s.io/v1, the CRDs and snapshot-controller of
// kubernetes-csi/external-snapshotter): taking one of a PVC, waiting until it is ready to use,
// a PVC made from it, deleting it. The builders are pure; the rest goes through kube.call.
import {
  ApisApi,
  CustomObjectsApi,
  StorageV1Api,
  type V1ObjectMeta,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';
import { ignoreNotFound, isNotFound } from './api-errors.ts';
import { formatDuration } from '../format/duration.ts';
import { recordedDriver, type VolumeSnapshotClass } from './snapshot-classes.ts';
import { buildPvcLike } from './pvc.ts';

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';
const SNAPSHOTS = { group: SNAPSHOT_GROUP, version: VERSION, plural: 'volumesnapshots' };
const CLASSES = { group: SNAPSHOT_GROUP, version: VERSION, plural: 'volumesnapshotclasses' };
const SNAPSHOT_RESOURCE = `volumesnapshots.${SNAPSHOT_GROUP}`;
const CLASS_RESOURCE = `volumesnapshotclasses.${SNAPSHOT_GROUP}`;

export interface VolumeSnapshot {
  apiVersion: string;
  kind: 'VolumeSnapshot';
  metadata: V1ObjectMeta;
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    readyToUse?: boolean;
    /** A quantity: the smallest volume the snapshot can be restored into. */
    restoreSize?: string;
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    error?: { message?: string; time?: string };
  };
}

export function buildSnapshot(
  source: V1PersistentVolumeClaim,
  name: string,
  className: string,
  labels: Record<string, string>,
): VolumeSnapshot {
  return {
    apiVersion: `${SNAPSHOT_GROUP}/${VERSION}`,
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: source.metadata?.namespace, labels },
    spec: { source: { persistentVolumeClaimName: source.metadata!.name! }, volumeSnapshotClassName: className },
  };
}

/**
 * A PVC restored from `snapshot`: the source PVC's StorageClass, access modes and volume mode, and the
 * snapshot's restoreSize (the smallest volume it fits in) when it has one, else the source's size.
 */
export function buildPvcFromSnapshot(
  source: V1PersistentVolumeClaim,
  snapshot: VolumeSnapshot,
  name: string,
  labels: Record<string, string>,
): V1PersistentVolumeClaim {
  const restoreSize = snapshot.status?.restoreSize;
  // A driver that does not know the size reports 0: the source's size then.
  const storage = restoreSize && !/^0+[a-zA-Z]*$/.test(restoreSize) ? restoreSize : undefined;
  const dataSource = { apiGroup: SNAPSHOT_GROUP, kind: 'VolumeSnapshot', name: snapshot.metadata.name! };
  return buildPvcLike(source, name, labels, dataSource, storage);
}

/** Whether snapshot.storage.k8s.io/v1 is served (its CRDs installed). */
export async function snapshotApiServed(kube: KubeConnection): Promise<boolean> {
  const api = kube.config.makeApiClient(ApisApi);
  const groups = await kube.call({ verb: 'get', resource: 'apis' }, () => api.getAPIVersions());
  return groups.groups.some((g) => g.name === SNAPSHOT_GROUP && g.versions.some((v) => v.version === VERSION));
}

export function snapshotApiMissing(): UserError {
  return new UserError(
    `VolumeSnapshots are not available in this cluster (${SNAPSHOT_GROUP}/${VERSION} is not served: ` +
      'the snapshot CRDs are not installed)',
    'install the CRDs and the snapshot-controller of github.com/kubernetes-csi/external-snapshotter, ' +
      'or use --source clone or --source live',
  );
}

/** A 404 is either the object's absence or the whole API's: the latter is said as such. */
async function orApiMissing<T>(kube: KubeConnection, err: unknown, absent: T): Promise<T> {
  if (!isNotFound(err) && !isNotFound((err as { cause?: unknown })?.cause)) throw err;
  if (!(await snapshotApiServed(kube))) throw snapshotApiMissing();
  return absent;
}

export async function listSnapshotClasses(kube: KubeConnection): Promise<VolumeSnapshotClass[]> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const list = (await kube
    .call({ verb: 'list', resource: CLASS_RESOURCE }, () => api.listClusterCustomObject(CLASSES))
    .catch((err: unknown) => orApiMissing(kube, err, { items: [] }))) as { items: VolumeSnapshotClass[] };
  return list.items;
}

/** The class, or undefined when there is none of that name. */
export async function getSnapshotClass(kube: KubeConnection, name: string): Promise<VolumeSnapshotClass | undefined> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  return (await kube
    .call({ verb: 'get', resource: CLASS_RESOURCE, name }, () => api.getClusterCustomObject({ ...CLASSES, name }))
    .catch((err: unknown) => orApiMissing(kube, err, undefined))) as VolumeSnapshotClass | undefined;
}

/** The snapshot, or undefined when there is none of that name. */
export async function getSnapshot(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<VolumeSnapshot | undefined> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  return (await kube
    .call({ verb: 'get', resource: SNAPSHOT_RESOURCE, name, namespace }, () =>
      api.getNamespacedCustomObject({ ...SNAPSHOTS, namespace, name }),
    )
    .catch((err: unknown) => orApiMissing(kube, err, undefined))) as VolumeSnapshot | undefined;
}

export async function createSnapshot(kube: KubeConnection, snapshot: VolumeSnapshot): Promise<void> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const { name, namespace = '' } = snapshot.metadata;
  await kube
    .call({ verb: 'create', resource: SNAPSHOT_RESOURCE, name, namespace }, () =>
      api.createNamespacedCustomObject({ ...SNAPSHOTS, namespace, body: snapshot }),
    )
    .catch(async (err: unknown) => {
      await orApiMissing(kube, err, undefined);
      throw err;
    });
}

/**
 * Deletes a VolumeSnapshot and waits (bounded) until it is gone: the snapshot-controller then deletes
 * its VolumeSnapshotContent and, with deletionPolicy Delete, the CSI driver the snapshot itself.
 */
export async function deleteSnapshot(
  kube: KubeConnection,
  namespace: string,
  name: string,
  waitMs = 30_000,
): Promise<void> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  await kube
    .call({ verb: 'delete', resource: SNAPSHOT_RESOURCE, name, namespace }, () =>
      api.deleteNamespacedCustomObject({ ...SNAPSHOTS, namespace, name }),
    )
    .catch(ignoreNotFound);
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await sleep(200)) {
    const exists = await kube
      .call({ verb: 'get', resource: SNAPSHOT_RESOURCE, name, namespace }, () =>
        api.getNamespacedCustomObject({ ...SNAPSHOTS, namespace, name }),
      )
      .catch(ignoreNotFound);
    if (!exists) return;
  }
}

/**
 * The snapshot-controller records its own failed writes (a conflict with another writer) in
 * status.error too, and retries them: those are not the snapshot's failure.
 */
export function snapshotFailure(snapshot: VolumeSnapshot): string | undefined {
  const message = snapshot.status?.error?.message;
  if (!message || /the object has been modified/.test(message)) return undefined;
  return message;
}

/**
 * Waits until the snapshot is ready to use (the CSI driver has cut it and, for drivers that upload it
 * somewhere, finished); a snapshot whose status holds an error fails at once.
 */
export async function waitForSnapshotReady(
  kube: KubeConnection,
  namespace: string,
  name: string,
  wait: { timeoutMs: number; signal?: AbortSignal; report?: (detail: string) => void },
): Promise<VolumeSnapshot> {
  const started = Date.now();
  const deadline = started + wait.timeoutMs;
  let last: VolumeSnapshot | undefined;
  while (Date.now() < deadline) {
    wait.signal?.throwIfAborted();
    last = await getSnapshot(kube, namespace, name);
    if (!last) throw new UserError(`VolumeSnapshot "${name}" disappeared while waiting for it`, 'check who deleted it');
    const failure = snapshotFailure(last);
    if (failure)
      throw new UserError(
        `VolumeSnapshot "${name}" failed: ${failure}`,
        `check the VolumeSnapshotClass and the CSI driver (kubectl describe volumesnapshot ${name} -n ${namespace})`,
      );
    if (last.status?.readyToUse === true) return last;
    wait.report?.(
      `waiting for VolumeSnapshot ${name} to be ready (${describeProgress(last)}, ` +
        `${formatDuration(Date.now() - started)})`,
    );
    await sleep(500, undefined, { signal: wait.signal });
  }
  throw new UserError(
    `VolumeSnapshot "${name}" was not ready to use within ${formatDuration(wait.timeoutMs)} ` +
      `(${last ? describeProgress(last) : 'no status'})`,
    `check its CSI driver's snapshotter (kubectl describe volumesnapshot ${name} -n ${namespace}), or raise --timeout`,
  );
}

function describeProgress(snapshot: VolumeSnapshot): string {
  const status = snapshot.status;
  if (!status?.boundVolumeSnapshotContentName) return 'no VolumeSnapshotContent yet';
  if (!status.creationTime) return 'not cut yet';
  return 'cut, not ready to use yet';
}

/** An existing snapshot must be ready to use and, when it says so, be of `pvc`. */
export function checkExistingSnapshot(snapshot: VolumeSnapshot, pvc: string): void {
  const name = snapshot.metadata.name;
  const of = snapshot.spec.source.persistentVolumeClaimName;
  if (of && of !== pvc)
    throw new UserError(
      `VolumeSnapshot "${name}" is of PVC "${of}", not "${pvc}"`,
      `back it up as PVC ${of} (kubectl datamover backup ${of} --from-snapshot ${name})`,
    );
  const failure = snapshotFailure(snapshot);
  if (failure)
    throw new UserError(`VolumeSnapshot "${name}" failed: ${failure}`, 'take a new one, e.g. with --source snapshot');
  if (snapshot.status?.readyToUse !== true)
    throw new UserError(
      `VolumeSnapshot "${name}" is not ready to use (${describeProgress(snapshot)})`,
      `wait until READYTOUSE is true (kubectl get volumesnapshot ${name}), or take a new one with --source snapshot`,
    );
}

/**
 * The PVC's CSI driver: as the PV controller recorded it on the claim, else its StorageClass's
 * provisioner (which a namespaced user may not be allowed to read: then undefined).
 */
export async function driverOf(kube: KubeConnection, pvc: V1PersistentVolumeClaim): Promise<string | undefined> {
  const recorded = recordedDriver(pvc);
  const className = pvc.spec?.storageClassName;
  if (recorded || !className) return recorded;
  const storage = kube.config.makeApiClient(StorageV1Api);
  const sc = await kube
    .call({ verb: 'get', resource: 'storageclasses.storage.k8s.io', name: className }, () =>
      storage.readStorageClass({ name: className }),
    )
    .catch(() => undefined);
  return sc?.provisioner;
}
