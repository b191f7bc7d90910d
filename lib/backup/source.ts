// What a backup reads (--source): a CSI clone of the PVC (the default, as the operator does), a PVC
// restored from a VolumeSnapshot (one the run takes, or an existing one with --from-snapshot), or the
// live PVC. Whatever the run creates is removed by the flow's cleanup (on success, failure and
// Ctrl-C), unless --keep-clone; a snapshot the run did not take is never deleted.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import {
  buildClone,
  cloneName,
  createPvc,
  deletePvc,
  runObjectName,
  waitForBound,
  waitForBoundOrConsumer,
  type BindHint,
} from '../kube/pvc.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
import { runLabels } from '../kube/labels.ts';
import { chooseSnapshotClass, classesFor, type VolumeSnapshotClass } from '../kube/snapshot-classes.ts';
import {
  buildPvcFromSnapshot,
  buildSnapshot,
  checkExistingSnapshot,
  createSnapshot,
  deleteSnapshot,
  driverOf,
  getSnapshot,
  getSnapshotClass,
  listSnapshotClasses,
  waitForSnapshotReady,
  type VolumeSnapshot,
} from '../kube/snapshots.ts';
import type { Flow } from '../flow/runner.ts';

export type SourceChoice =
  | { kind: 'clone' }
  | { kind: 'live' }
  | { kind: 'snapshot'; className?: string }
  | { kind: 'existing-snapshot'; name: string };

export interface SourceRun {
  readonly kube: KubeConnection;
  readonly flow: Flow;
  readonly log: Logger;
  readonly namespace: string;
  readonly pvc: string;
  readonly source: SourceChoice;
  /** --timeout: how long the clone, the snapshot and the PVC from it may take. */
  readonly helper: HelperPodOptions;
  /** --keep-clone: leave the clone (or the snapshot and its PVC) in place. */
  readonly keepClone: boolean;
  readonly now: Date;
  readonly runId: string;
}

/**
 * The claim the helper pod mounts. A claim whose StorageClass waits for its first consumer binds only
 * once the helper pod is scheduled: `untilBound` waits for that, after the pod is created.
 */
export interface VolumeToRead {
  claim: string;
  untilBound?: () => Promise<void>;
  /** The live PVC (--source live): in use, its helper runs where it is attached. */
  live?: V1PersistentVolumeClaim;
  /** The VolumeSnapshot read (--source snapshot, --from-snapshot). */
  snapshot?: string;
}

export async function volumeToRead(run: SourceRun, source: V1PersistentVolumeClaim): Promise<VolumeToRead> {
  const { flow, source: choice } = run;
  switch (choice.kind) {
    case 'live':
      return flow.step('Use the live PVC (not a point-in-time copy)', async () => readLive(run, source));
    case 'clone':
      return flow.step(
        'Clone the PVC',
        (report) => cloneVolume(run, source, report),
        ({ claim, untilBound }) => `${claim}${untilBound ? ', bound once the helper pod uses it' : ''}`,
      );
    case 'snapshot':
    case 'existing-snapshot': {
      flow.enter('CreatingClonedPVC');
      const snapshot =
        choice.kind === 'snapshot'
          ? await flow.step(
              'Snapshot the PVC',
              (report) => takeSnapshot(run, source, choice.className, report),
              (s) => `${s.metadata.name} (class ${s.spec.volumeSnapshotClassName}), ready to use`,
            )
          : await flow.step(
              'Use the existing snapshot',
              () => existingSnapshot(run, choice.name),
              (s) => `${s.metadata.name}, ready to use (it is left in place)`,
            );
      return flow.step(
        'Create a PVC from the snapshot',
        (report) => pvcFromSnapshot(run, source, snapshot, report),
        ({ claim, untilBound }) => `${claim}${untilBound ? ', bound once the helper pod uses it' : ''}`,
      );
    }
  }
}

function readLive(run: SourceRun, source: V1PersistentVolumeClaim): VolumeToRead {
  run.log.warn(
    `--no-clone: reading the live PVC "${run.pvc}"; files that change during the backup may be inconsistent`,
  );
  return { claim: run.pvc, live: source };
}

async function cloneVolume(
  run: SourceRun,
  source: V1PersistentVolumeClaim,
  report: (detail: string) => void,
): Promise<VolumeToRead> {
  const { kube, flow } = run;
  flow.enter('CreatingClonedPVC');
  const clone = buildClone(source, cloneName(run.pvc, run.now), runLabels(run.pvc, run.runId));
  const name = clone.metadata!.name!;
  await createMadePvc(run, clone, 'clone');
  report(`waiting for ${name} to be Bound`);
  const fix = 'use a StorageClass whose CSI driver supports cloning, or pass --no-clone to read the live PVC';
  return waitForClaim(run, name, {
    what: `the clone "${name}"`,
    fix,
    betterFix: async () => {
      const snapshotClass = await snapshotClassFor(kube, source);
      if (!snapshotClass) return undefined;
      return (
        'use a StorageClass whose CSI driver supports cloning, pass --source snapshot ' +
        `(VolumeSnapshotClass ${snapshotClass} is for its driver), or pass --no-clone to read the live PVC`
      );
    },
  });
}

/** A class that could snapshot the PVC, for the advice when it cannot be cloned; never an error of its own. */
async function snapshotClassFor(kube: KubeConnection, source: V1PersistentVolumeClaim): Promise<string | undefined> {
  try {
    const driver = await driverOf(kube, source);
    if (!driver) return undefined;
    const classes = classesFor(await listSnapshotClasses(kube), driver);
    return classes.length ? chooseSnapshotClass(classes, driver).metadata?.name : undefined;
  } catch {
    return undefined;
  }
}

async function takeSnapshot(
  run: SourceRun,
  source: V1PersistentVolumeClaim,
  requestedClass: string | undefined,
  report: (detail: string) => void,
): Promise<VolumeSnapshot> {
  const { kube, flow, namespace } = run;
  const driver = await driverOf(kube, source);
  let classes: VolumeSnapshotClass[];
  if (requestedClass) {
    const named = await getSnapshotClass(kube, requestedClass);
    classes = named ? [named] : [];
  } else classes = await listSnapshotClasses(kube);
  const snapshotClass = chooseSnapshotClass(classes, driver, requestedClass);
  const name = runObjectName(run.pvc, 'snapshot', run.now);
  const snapshot = buildSnapshot(source, name, snapshotClass.metadata!.name!, runLabels(run.pvc, run.runId));
  const created = createSnapshot(kube, snapshot);
  // Registered before the create answers, so that a signal meanwhile still removes it.
  if (!run.keepClone)
    flow.defer(`delete VolumeSnapshot ${name}`, () =>
      created.catch(() => undefined).then(() => deleteSnapshot(kube, namespace, name)),
    );
  await created;
  report(`waiting for VolumeSnapshot ${name} to be ready`);
  return waitForSnapshotReady(kube, namespace, name, {
    timeoutMs: run.helper.timeoutMs,
    signal: flow.signal,
    report,
  });
}

async function existingSnapshot(run: SourceRun, name: string): Promise<VolumeSnapshot> {
  const snapshot = await getSnapshot(run.kube, run.namespace, name);
  if (!snapshot)
    throw new UserError(
      `VolumeSnapshot "${name}" not found in namespace "${run.namespace}"`,
      'check the name and the namespace (kubectl get volumesnapshot -n NAMESPACE)',
    );
  checkExistingSnapshot(snapshot, run.pvc);
  return snapshot;
}

async function pvcFromSnapshot(
  run: SourceRun,
  source: V1PersistentVolumeClaim,
  snapshot: VolumeSnapshot,
  report: (detail: string) => void,
): Promise<VolumeToRead> {
  const name = runObjectName(run.pvc, 'from-snapshot', run.now);
  const pvc = buildPvcFromSnapshot(source, snapshot, name, runLabels(run.pvc, run.runId));
  await createMadePvc(run, pvc, 'PVC');
  report(`waiting for ${name} to be Bound`);
  const volume = await waitForClaim(run, name, {
    what: `the PVC "${name}" from VolumeSnapshot ${snapshot.metadata.name}`,
    fix: `check the PVC's events (kubectl describe pvc ${name}) and that its StorageClass is of the snapshot's driver`,
  });
  return { ...volume, snapshot: snapshot.metadata.name };
}

async function createMadePvc(run: SourceRun, pvc: V1PersistentVolumeClaim, what: string): Promise<void> {
  const { kube, namespace, flow } = run;
  const name = pvc.metadata!.name!;
  await createPvc(kube, pvc);
  if (!run.keepClone) flow.defer(`delete ${what} ${name}`, () => deletePvc(kube, namespace, name));
}

async function waitForClaim(run: SourceRun, name: string, hint: BindHint): Promise<VolumeToRead> {
  const { kube, namespace, helper, flow } = run;
  const state = await waitForBoundOrConsumer(kube, namespace, name, helper.timeoutMs, flow.signal, hint);
  flow.enter('ClonedPVCReady');
  if (state === 'Bound') return { claim: name };
  return { claim: name, untilBound: () => waitForBound(kube, namespace, name, helper.timeoutMs, flow.signal, hint) };
}
