// The CSI driver's part in VolumeSnapshots, for CSI_DRIVER, run in the provisioner's process: what the
// csi-snapshotter sidecar (kubernetes-csi/external-snapshotter, pkg/sidecar-controller) does with the
// driver's CreateSnapshot and DeleteSnapshot, and what the external-provisioner checks before it
// provisions a PVC whose dataSource is a VolumeSnapshot. The snapshot-controller (the real one) does
// the rest: it makes a VolumeSnapshotContent for each VolumeSnapshot, copies the content's status to
// the snapshot, and deletes the content with its snapshot.
// - A dynamic content (spec.source.volumeHandle, no status) is marked volumesnapshot-being-created,
//   then cut: its volume's folder copied under a staging name, renamed once complete. Only then is
//   its status written (snapshotHandle, creationTime in ns, restoreSize in bytes, readyToUse) and the
//   mark removed. A class with `readiness: never` cuts the snapshot but never reports it ready to use
//   (a backend that never finishes uploading it). A failure goes to status.error, retried later.
// - A content being deleted that the snapshot-controller marked volumesnapshot-being-deleted (never
//   while it is being cut) loses its copy when its deletionPolicy is Delete, then its status fields and
//   its finalizer.
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { CSI_DRIVER } from './cluster.ts';
import { log } from './controller-loop.ts';
import type { StatePaths } from './paths.ts';
import { pvFolder } from './volume-folder.ts';

const run = promisify(execFile);
const GROUP = { group: 'snapshot.storage.k8s.io', version: 'v1' };
const CONTENTS = { ...GROUP, plural: 'volumesnapshotcontents' };
const CLASSES = { ...GROUP, plural: 'volumesnapshotclasses' };
const SNAPSHOTS = { ...GROUP, plural: 'volumesnapshots' };
const BEING_CREATED = 'snapshot.storage.kubernetes.io/volumesnapshot-being-created';
const BEING_DELETED = 'snapshot.storage.kubernetes.io/volumesnapshot-being-deleted';
const CONTENT_FINALIZER = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** How long a failed cut waits before it is tried again. */
const RETRY_MS = 5000;

interface Content {
  metadata: {
    name: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec: {
    driver: string;
    deletionPolicy: 'Delete' | 'Retain';
    volumeSnapshotClassName?: string;
    source: { volumeHandle?: string; snapshotHandle?: string };
    volumeSnapshotRef: { name?: string; namespace?: string; uid?: string };
  };
  status?: {
    snapshotHandle?: string;
    readyToUse?: boolean;
    creationTime?: number;
    restoreSize?: number;
    error?: { message?: string; time?: string };
  };
}

interface Snapshot {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string };
  status?: { readyToUse?: boolean; boundVolumeSnapshotContentName?: string };
}

/** Cuts in progress, by content name; failed ones, with when they may be tried again. */
const cutting = new Set<string>();
const failedUntil = new Map<string, number>();

export async function reconcileSnapshots(
  custom: CustomObjectsApi,
  paths: StatePaths,
  volumes: V1PersistentVolume[],
): Promise<void> {
  const contents = ((await custom.listClusterCustomObject(CONTENTS)) as { items: Content[] }).items;
  for (const content of contents.filter((c) => c.spec.driver === CSI_DRIVER)) {
    const name = content.metadata.name;
    try {
      if (content.metadata.deletionTimestamp) await deleteContent(custom, paths, content);
      else if (content.spec.source.volumeHandle && !content.status?.snapshotHandle && !cutting.has(name)) {
        if (Date.now() < (failedUntil.get(name) ?? 0)) continue;
        cutting.add(name);
        void cut(custom, paths, content, volumes).finally(() => cutting.delete(name));
      }
    } catch (err) {
      log(`snapshot content ${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

/** The sidecar's createSnapshotWrapper around the driver's CreateSnapshot. */
async function cut(
  custom: CustomObjectsApi,
  paths: StatePaths,
  content: Content,
  volumes: V1PersistentVolume[],
): Promise<void> {
  const name = content.metadata.name;
  const volumeHandle = content.spec.source.volumeHandle!;
  try {
    const className = content.spec.volumeSnapshotClassName;
    if (!className) throw new Error(`failed to take snapshot ${name} without a snapshot class`);
    const sc = (await custom.getClusterCustomObject({ ...CLASSES, name: className })) as {
      parameters?: Record<string, string>;
    };
    await patchContent(custom, name, { metadata: { annotations: { [BEING_CREATED]: 'yes' } } });
    const volume = volumes.find((v) => v.spec?.csi?.driver === CSI_DRIVER && v.spec.csi.volumeHandle === volumeHandle);
    const folder = pvFolder(volume);
    if (!folder)
      throw new Error(
        `failed to take snapshot of the volume ${volumeHandle}: ` +
          `"rpc error: code = NotFound desc = volume ${volumeHandle} not found"`,
      );
    const handle = `snapshot-${content.spec.volumeSnapshotRef.uid}`;
    const target = join(paths.snapshots, handle);
    const staging = `${target}.cutting`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(paths.snapshots, { recursive: true });
    await run('cp', ['-a', `${folder}/.`, `${staging}/`]).catch(async () => {
      mkdirSync(staging, { recursive: true, mode: 0o777 });
      await run('cp', ['-a', `${folder}/.`, staging]);
    });
    renameSync(staging, target);
    const ready = sc.parameters?.readiness !== 'never';
    const status = {
      snapshotHandle: handle,
      creationTime: Date.now() * 1e6,
      restoreSize: quantityBytes(String(volume?.spec?.capacity?.storage ?? '0')),
      readyToUse: ready,
      error: null,
    };
    await custom.patchClusterCustomObjectStatus({ ...CONTENTS, name, body: { status } }, MERGE);
    await patchContent(custom, name, { metadata: { annotations: { [BEING_CREATED]: null } } });
    failedUntil.delete(name);
    log(`snapshot ${handle} of volume ${volumeHandle} cut${ready ? ', ready to use' : ', never to be ready'}`);
  } catch (err) {
    const message = `Failed to create snapshot: ${(err as Error).message.split('\n')[0]}`;
    failedUntil.set(name, Date.now() + RETRY_MS);
    await custom
      .patchClusterCustomObjectStatus(
        { ...CONTENTS, name, body: { status: { readyToUse: false, error: { message, time: new Date() } } } },
        MERGE,
      )
      .catch(() => undefined);
    // A final error: the storage answered, nothing is being created any more.
    await patchContent(custom, name, { metadata: { annotations: { [BEING_CREATED]: null } } }).catch(() => undefined);
    log(`snapshot content ${name}: ${message}`);
  }
}

/** The sidecar's shouldDelete, DeleteSnapshot (deletionPolicy Delete) and finalizer removal. */
async function deleteContent(custom: CustomObjectsApi, paths: StatePaths, content: Content): Promise<void> {
  const { name, annotations = {}, finalizers = [] } = content.metadata;
  if (annotations[BEING_CREATED] || cutting.has(name)) return; // the cut has not answered yet
  const unboundPreProvisioned = content.spec.source.snapshotHandle && !content.spec.volumeSnapshotRef.uid;
  if (!annotations[BEING_DELETED] && !unboundPreProvisioned) return;
  const handle = content.status?.snapshotHandle;
  let { resourceVersion } = content.metadata;
  if (content.spec.deletionPolicy === 'Delete' && handle) {
    rmSync(join(paths.snapshots, handle), { recursive: true, force: true });
    const cleared = { snapshotHandle: null, readyToUse: null, creationTime: null, restoreSize: null };
    const updated = (await custom.patchClusterCustomObjectStatus(
      { ...CONTENTS, name, body: { status: cleared } },
      MERGE,
    )) as Content;
    resourceVersion = updated.metadata.resourceVersion;
    log(`deleted snapshot ${handle}`);
  }
  if (!finalizers.includes(CONTENT_FINALIZER)) return;
  const body = { metadata: { finalizers: finalizers.filter((f) => f !== CONTENT_FINALIZER), resourceVersion } };
  await patchContent(custom, name, body);
}

async function patchContent(custom: CustomObjectsApi, name: string, body: object): Promise<void> {
  await custom.patchClusterCustomObject({ ...CONTENTS, name, body }, MERGE);
}

/**
 * What the external-provisioner checks of a PVC's VolumeSnapshot dataSource before it asks the driver
 * for a volume from it (its getSnapshotSource), with its messages; the snapshot's folder when all holds.
 */
export async function snapshotSource(
  custom: CustomObjectsApi,
  paths: StatePaths,
  pvc: V1PersistentVolumeClaim,
  driver: string,
): Promise<{ folder: string } | { error: string }> {
  const namespace = pvc.metadata!.namespace!;
  const name = pvc.spec!.dataSource!.name;
  const requested = quantityBytes(pvc.spec?.resources?.requests?.storage ?? '0');
  const prefix = `error getting handle for DataSource Type VolumeSnapshot by Name ${name}`;
  const snapshot = (await custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace, name }).catch(() => undefined)) as
    | Snapshot
    | undefined;
  if (!snapshot)
    return {
      error:
        `${prefix}: error getting snapshot ${name} from api server: ` +
        `volumesnapshots.snapshot.storage.k8s.io "${name}" not found`,
    };
  if (snapshot.metadata.deletionTimestamp) return { error: `${prefix}: snapshot ${name} is currently being deleted` };
  if (snapshot.status?.readyToUse !== true) return { error: `${prefix}: snapshot ${name} is not Ready` };
  const contentName = snapshot.status.boundVolumeSnapshotContentName;
  if (!contentName) return { error: `${prefix}: snapshot ${name} not bound` };
  const content = (await custom.getClusterCustomObject({ ...CONTENTS, name: contentName }).catch(() => undefined)) as
    | Content
    | undefined;
  if (!content)
    return { error: `${prefix}: error getting snapshotcontent ${contentName} for snapshot ${namespace}/${name}` };
  const ref = content.spec.volumeSnapshotRef;
  if (ref.name !== name || ref.namespace !== namespace || ref.uid !== snapshot.metadata.uid)
    return {
      error: `${prefix}: snapshotcontent ${contentName} for snapshot ${namespace}/${name} is bound to another snapshot`,
    };
  if (content.spec.driver !== driver)
    return {
      error:
        `${prefix}: driver name ${content.spec.driver} defined in content ${contentName} does not match ` +
        `driver name ${driver} defined in the StorageClass`,
    };
  const handle = content.status?.snapshotHandle;
  if (!handle) return { error: `${prefix}: snapshot handle of snapshot content ${contentName} is not available` };
  const size = content.status?.restoreSize ?? 0;
  if (requested < size)
    return {
      error: `requested volume size ${requested} is less than the size ${size} for the source snapshot ${name}`,
    };
  return { folder: join(paths.snapshots, handle) };
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes quantity ("1Gi", "500M", "1073741824") in bytes. */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)([kMGT]i?|)$/.exec(quantity.trim());
  if (!match) throw new Error(`cannot read the quantity "${quantity}"`);
  return Math.ceil(Number(match[1]) * UNITS[match[2]!]!);
}
