// What `delete` removes besides the DataMover: the operator's Job for it
// (verify-<clone>, made without an ownerReference, so nothing else ever deletes
// it) with its pods, and, when asked, the clone PVC the operator leaves behind
// unless deletePvcAfterBackup.
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { findPvc } from '../kube/pvc.ts';
import { jobPods } from './status.ts';
import { jobNameFor, type DataMover } from './resources.ts';

/** Deletes the run's Job (and, with `deleteClone`, its clone); returns one line per object, saying what was done. */
export async function deleteRunObjects(
  kube: KubeConnection,
  mover: DataMover,
  deleteClone: boolean,
): Promise<string[]> {
  const namespace = mover.metadata.namespace!;
  const clone = mover.status?.restoredPvcName;
  if (!clone) return ['no clone or Job had been made for it yet'];
  const lines: string[] = [];
  const batch = kube.config.makeApiClient(BatchV1Api);
  const core = kube.config.makeApiClient(CoreV1Api);
  const job = jobNameFor(clone);
  const pods = await jobPods(kube, namespace, clone);
  // Read before the Job goes: a clone the operator deleted goes with the Job's pods.
  const pvc = await findPvc(kube, namespace, clone);
  const deleted = await kube
    .call({ verb: 'delete', resource: 'jobs', name: job, namespace }, () =>
      // Background: the garbage collector deletes the Job's pods (they are owned by the Job).
      batch.deleteNamespacedJob({ name: job, namespace, propagationPolicy: 'Background' }),
    )
    .catch(ignoreNotFound);
  lines.push(
    deleted
      ? `job.batch/${job} deleted (with its ${pods.length} pod${pods.length === 1 ? '' : 's'})`
      : `job.batch/${job} was not there`,
  );
  if (!pvc) lines.push(`clone persistentvolumeclaim/${clone} was already deleted`);
  else if (pvc.metadata?.deletionTimestamp)
    lines.push(`clone persistentvolumeclaim/${clone} was being deleted; it goes once the Job's pods are gone`);
  else if (deleteClone) {
    await kube.call({ verb: 'delete', resource: 'persistentvolumeclaims', name: clone, namespace }, () =>
      core.deleteNamespacedPersistentVolumeClaim({ name: clone, namespace }),
    );
    lines.push(`clone persistentvolumeclaim/${clone} deleted`);
  } else {
    lines.push(
      `clone persistentvolumeclaim/${clone} kept (a point-in-time copy of ${mover.spec.sourcePvc}); ` +
        'pass --delete-clone to delete it too',
    );
  }
  return lines;
}
