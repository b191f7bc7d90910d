// Operator-mode preflight: everything a DataMover needs, checked before it is
// written, each failure one line naming the fix.
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { getBoundPvc } from '../kube/pvc.ts';
import { parseStorageSecret } from '../destination/storage-secret.ts';
import { getObject, operatorInstalled, operatorMissing } from './api.ts';
import { DATAMOVERS, SCHEDULES, jobNameFor, type CreateSpec } from './resources.ts';

export async function preflightCreate(kube: KubeConnection, spec: CreateSpec): Promise<void> {
  if (!(await operatorInstalled(kube, spec.namespace))) throw operatorMissing();
  // The operator names its Job after the clone, <pvc>-cloned-<unix seconds>; a Job name has at most 63 characters.
  const job = jobNameFor(`${spec.pvc}-cloned-${'0'.repeat(10)}`);
  if (job.length > 63) {
    throw new UserError(
      `PVC name "${spec.pvc}" is too long for the operator: ` +
        `its Job name would have ${job.length} characters (at most 63)`,
      `use --mode local, or a PVC whose name has at most ${spec.pvc.length - (job.length - 63)} characters`,
    );
  }
  const kind = spec.schedule ? SCHEDULES : DATAMOVERS;
  if (await getObject(kube, kind, spec.namespace, spec.name)) {
    throw new UserError(
      `${kind.kind} "${spec.name}" already exists in namespace "${spec.namespace}"`,
      'pick another name, or delete it first (kubectl datamover delete)',
    );
  }
  await getBoundPvc(kube, spec.namespace, spec.pvc);
  const core = kube.config.makeApiClient(CoreV1Api);
  const secret = await kube.call(
    { verb: 'get', resource: 'secrets', name: spec.secret, namespace: spec.namespace },
    () => core.readNamespacedSecret({ name: spec.secret, namespace: spec.namespace }),
  );
  parseStorageSecret(spec.secret, secret.data);
  for (const env of spec.env) {
    const ref = env.valueFrom?.configMapKeyRef;
    if (!ref) continue;
    const configMap = await kube.call(
      { verb: 'get', resource: 'configmaps', name: ref.name, namespace: spec.namespace },
      () => core.readNamespacedConfigMap({ name: ref.name!, namespace: spec.namespace }),
    );
    if (!(ref.key in (configMap.data ?? {}))) {
      throw new UserError(
        `ConfigMap "${ref.name}" has no key "${ref.key}" (for ${env.name})`,
        `add the key, or fix --env-from-configmap ${env.name}=${ref.name}:KEY`,
      );
    }
  }
}
