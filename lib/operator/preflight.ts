// Operator-mode preflight: everything a DataMover needs, checked before it is
// written, each failure one line naming the fix.
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { getBoundPvc } from '../kube/pvc.ts';
import {
  STORAGE_KEYS,
  decodeSecretData,
  parseStorageValues,
  type StorageKey,
  type StorageSettings,
} from '../destination/storage-secret.ts';
import { getObject, requireCrds } from './api.ts';
import { DATAMOVERS, SCHEDULES, jobNameFor, type CreateSpec } from './resources.ts';

/** Returns the storage settings the Job will see (its Secret, with additionalEnv over it). */
export async function preflightCreate(kube: KubeConnection, spec: CreateSpec): Promise<StorageSettings> {
  await requireCrds(kube, spec.namespace, spec.schedule ? [DATAMOVERS, SCHEDULES] : [DATAMOVERS]);
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
  const secrets = new Map<string, V1Secret>();
  const readSecret = async (name: string) => {
    if (!secrets.has(name))
      secrets.set(
        name,
        await kube.call({ verb: 'get', resource: 'secrets', name, namespace: spec.namespace }, () =>
          core.readNamespacedSecret({ name, namespace: spec.namespace }),
        ),
      );
    return secrets.get(name)!;
  };
  // The Job's environment as a kubelet makes it: envFrom the Secret, then env (additionalEnv) over it.
  const values: Record<string, string | undefined> = decodeSecretData((await readSecret(spec.secret)).data);
  const origins = new Map<string, string>();
  for (const env of spec.env) {
    let value = env.value;
    let origin = `--env ${env.name}`;
    const cmRef = env.valueFrom?.configMapKeyRef;
    const secretRef = env.valueFrom?.secretKeyRef;
    if (cmRef) {
      const configMap = await kube.call(
        { verb: 'get', resource: 'configmaps', name: cmRef.name, namespace: spec.namespace },
        () => core.readNamespacedConfigMap({ name: cmRef.name!, namespace: spec.namespace }),
      );
      if (!(cmRef.key in (configMap.data ?? {}))) {
        throw new UserError(
          `ConfigMap "${cmRef.name}" has no key "${cmRef.key}" (for ${env.name})`,
          `add the key, or fix --env-from-configmap ${env.name}=${cmRef.name}:KEY`,
        );
      }
      value = configMap.data![cmRef.key];
      origin = `ConfigMap "${cmRef.name}" key "${cmRef.key}" (--env-from-configmap ${env.name})`;
    } else if (secretRef) {
      const data = decodeSecretData((await readSecret(secretRef.name!)).data);
      if (!(secretRef.key in data)) {
        throw new UserError(
          `Secret "${secretRef.name}" has no key "${secretRef.key}" (for ${env.name})`,
          `add the key, or fix --env-from-secret ${env.name}=${secretRef.name}:KEY`,
        );
      }
      value = data[secretRef.key];
      origin = `Secret "${secretRef.name}" key "${secretRef.key}" (--env-from-secret ${env.name})`;
    }
    if ((STORAGE_KEYS as readonly string[]).includes(env.name)) {
      values[env.name] = value ?? '';
      origins.set(env.name, origin);
    }
  }
  const origin = (key: StorageKey) => origins.get(key) ?? `Secret "${spec.secret}"`;
  refuseFlagLikeArguments(values, origin);
  return parseStorageValues(values, {
    origin,
    missingFix: 'add it to the Secret, or give it with --env or --env-from-configmap',
  });
}

/**
 * The operator's entrypoint passes these values to `rclone config create` as arguments:
 * one that starts with "-" is read as a flag, and every attempt of the Job fails.
 */
const CONFIG_ARGUMENTS: StorageKey[] = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];

function refuseFlagLikeArguments(values: Record<string, string | undefined>, origin: (key: StorageKey) => string) {
  for (const key of CONFIG_ARGUMENTS) {
    if (!values[key]?.startsWith('-')) continue;
    throw new UserError(
      `${key} from ${origin(key)} starts with "-": the operator's Job passes it to "rclone config create" ` +
        'as an argument, which rclone reads as a flag, so every attempt would fail',
      'use a key that does not start with "-", or --mode local (which gives it to rclone through its environment)',
    );
  }
}
