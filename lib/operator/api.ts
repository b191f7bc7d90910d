// Reading and writing DataMover and DataMoverSchedule objects.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { UserError } from '../errors.ts';
import { DATAMOVERS, SCHEDULES, type DataMover, type DataMoverSchedule } from './resources.ts';

type Kind = typeof DATAMOVERS | typeof SCHEDULES;

const resourceOf = (kind: Kind) => `${kind.plural}.${kind.group}`;

/** Whether a CRD of the operator is served: listing in the namespace answers 404 when it is not installed. */
export async function crdServed(kube: KubeConnection, namespace: string, kind: Kind): Promise<boolean> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const list = await kube
    .call({ verb: 'list', resource: resourceOf(kind), namespace }, () =>
      api.listNamespacedCustomObject({ ...kind, namespace, limit: 1 }),
    )
    .catch(ignoreNotFound);
  return list !== undefined;
}

/**
 * Which of `kinds` are not served (each detected on its own: the operator's Helm chart, for one,
 * installs the DataMover CRD without the DataMoverSchedule one).
 */
export async function missingCrds(kube: KubeConnection, namespace: string, kinds: Kind[]): Promise<Kind[]> {
  const served = await Promise.all(kinds.map((kind) => crdServed(kube, namespace, kind)));
  return kinds.filter((_, i) => !served[i]);
}

/** Whether the DataMover CRD (what create, status and delete need) is served. */
export async function operatorInstalled(kube: KubeConnection, namespace: string, kind: Kind = DATAMOVERS) {
  return crdServed(kube, namespace, kind);
}

/** Throws, naming each missing CRD, unless every one of `kinds` is served. */
export async function requireCrds(kube: KubeConnection, namespace: string, kinds: Kind[]): Promise<void> {
  const missing = await missingCrds(kube, namespace, kinds);
  if (missing.length) throw operatorMissing(missing);
}

export function operatorMissing(missing: Kind[] = [DATAMOVERS, SCHEDULES]): UserError {
  const names = missing.map((k) => `${k.kind} (${resourceOf(k)})`).join(' and ');
  if (missing.some((k) => k.kind === 'DataMover'))
    return new UserError(
      `the DataMover operator is not installed in this cluster (its CRD${missing.length > 1 ? 's' : ''} ` +
        `${names} ${missing.length > 1 ? 'are' : 'is'} not served)`,
      'install the operator, or use local mode: kubectl datamover backup PVC --secret S',
    );
  return new UserError(
    `the ${names} CRD is not served in this cluster, though the DataMover CRD is`,
    "install it from the operator's config/crd/bases (its Helm chart lacks it); schedules need it",
  );
}

export async function getObject<T>(
  kube: KubeConnection,
  kind: Kind,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const object = await kube
    .call({ verb: 'get', resource: resourceOf(kind), name, namespace }, () =>
      api.getNamespacedCustomObject({ ...kind, namespace, name }),
    )
    .catch(ignoreNotFound);
  return object as T | undefined;
}

export async function createObject<T extends DataMover | DataMoverSchedule>(
  kube: KubeConnection,
  kind: Kind,
  object: T,
  dryRun = false,
): Promise<T> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const namespace = object.metadata.namespace!;
  return (await kube.call({ verb: 'create', resource: resourceOf(kind), name: object.metadata.name, namespace }, () =>
    api.createNamespacedCustomObject({ ...kind, namespace, body: object, dryRun: dryRun ? 'All' : undefined }),
  )) as T;
}

export async function listObjects<T>(kube: KubeConnection, kind: Kind, namespace: string | undefined): Promise<T[]> {
  return (await listObjectsAt<T>(kube, kind, namespace)).items;
}

/** The objects and the list's resourceVersion, from which a watch sees every later change. */
export async function listObjectsAt<T>(
  kube: KubeConnection,
  kind: Kind,
  namespace: string | undefined,
): Promise<{ items: T[]; resourceVersion: string }> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const list = (await kube.call({ verb: 'list', resource: resourceOf(kind), namespace }, () =>
    namespace ? api.listNamespacedCustomObject({ ...kind, namespace }) : api.listClusterCustomObject(kind),
  )) as { items: T[]; metadata?: { resourceVersion?: string } };
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}

export async function deleteObject(kube: KubeConnection, kind: Kind, namespace: string, name: string): Promise<void> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  await kube.call({ verb: 'delete', resource: resourceOf(kind), name, namespace }, () =>
    api.deleteNamespacedCustomObject({ ...kind, namespace, name }),
  );
}

export async function patchSchedule(
  kube: KubeConnection,
  namespace: string,
  name: string,
  spec: Partial<DataMoverSchedule['spec']>,
): Promise<void> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  await kube.call({ verb: 'patch', resource: resourceOf(SCHEDULES), name, namespace }, () =>
    api.patchNamespacedCustomObject(
      { ...SCHEDULES, namespace, name, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
}
