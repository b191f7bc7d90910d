// Which VolumeSnapshotClass takes a PVC's snapshot, as the snapshot-controller would pick one by
// default: among the classes of the PVC's CSI driver, the only one, or the one annotated
// snapshot.storage.kubernetes.io/is-default-class: "true". Pure: the caller lists the classes.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';

export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

export interface VolumeSnapshotClass {
  metadata?: { name?: string; annotations?: Record<string, string> };
  driver: string;
  deletionPolicy?: string;
  parameters?: Record<string, string>;
}

/**
 * The CSI driver of a PVC, as the PV controller recorded it when the volume was provisioned
 * (volume.kubernetes.io/storage-provisioner, or its beta name); undefined for a PVC bound to a
 * pre-provisioned volume (the caller then asks its StorageClass).
 */
export function recordedDriver(pvc: V1PersistentVolumeClaim): string | undefined {
  const annotations = pvc.metadata?.annotations ?? {};
  return (
    annotations['volume.kubernetes.io/storage-provisioner'] ??
    annotations['volume.beta.kubernetes.io/storage-provisioner']
  );
}

export function isDefaultClass(c: VolumeSnapshotClass): boolean {
  return c.metadata?.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === 'true';
}

/** The classes of one driver, by name. */
export function classesFor(classes: VolumeSnapshotClass[], driver: string): VolumeSnapshotClass[] {
  return classes
    .filter((c) => c.driver === driver)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/**
 * The class to use: `requested` (--snapshot-class) when given, which must be of the driver; else the
 * only class of the driver, or its one default. Anything else is one line saying what to pass.
 */
export function chooseSnapshotClass(
  classes: VolumeSnapshotClass[],
  driver: string | undefined,
  requested?: string,
): VolumeSnapshotClass {
  if (requested) {
    const named = classes.find((c) => c.metadata?.name === requested);
    if (!named)
      throw new UserError(
        `VolumeSnapshotClass "${requested}" does not exist`,
        `pick one${driver ? ` of driver ${driver}${listNames(classesFor(classes, driver))}` : ''} ` +
          '(kubectl get volumesnapshotclass)',
      );
    if (driver && named.driver !== driver)
      throw new UserError(
        `VolumeSnapshotClass "${requested}" is for driver ${named.driver}, not ${driver} (the PVC's)`,
        `pick a class of driver ${driver}${listNames(classesFor(classes, driver))}`,
      );
    return named;
  }
  if (!driver)
    throw new UserError(
      "cannot tell the PVC's CSI driver (no storage-provisioner annotation, no StorageClass to read it from)",
      'pass --snapshot-class NAME (kubectl get volumesnapshotclass)',
    );
  const candidates = classesFor(classes, driver);
  if (candidates.length === 0)
    throw new UserError(
      `no VolumeSnapshotClass for the PVC's CSI driver ${driver}`,
      'ask an admin to create one for that driver, or use --source clone or --source live',
    );
  if (candidates.length === 1) return candidates[0]!;
  const defaults = candidates.filter(isDefaultClass);
  if (defaults.length === 1) return defaults[0]!;
  const what =
    defaults.length === 0
      ? `none is annotated ${DEFAULT_SNAPSHOT_CLASS_ANNOTATION}: "true"`
      : `${defaults.length} are annotated as the default`;
  throw new UserError(
    `${candidates.length} VolumeSnapshotClasses are for driver ${driver} and ${what}`,
    `pass --snapshot-class with one of ${names(defaults.length ? defaults : candidates)}`,
  );
}

function names(classes: VolumeSnapshotClass[]): string {
  return classes.map((c) => c.metadata?.name).join(', ');
}

function listNames(classes: VolumeSnapshotClass[]): string {
  return classes.length ? ` (${names(classes)})` : '';
}
