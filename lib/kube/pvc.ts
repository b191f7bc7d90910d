// PersistentVolumeClaims: checking the source, cloning it the way the
// operator does (<pvc>-cloned-<unix seconds>, dataSource = the source, same
// StorageClass and size), waiting for Bound (or for the pod a WaitForFirstConsumer
// StorageClass needs before it binds), deleting.
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1PersistentVolumeClaim,
  type V1TypedLocalObjectReference,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';
import { ignoreNotFound } from './api-errors.ts';
import { formatDuration } from '../format/duration.ts';

export async function getBoundPvc(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<V1PersistentVolumeClaim> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const pvc = await kube.call({ verb: 'get', resource: 'persistentvolumeclaims', name, namespace }, () =>
    core.readNamespacedPersistentVolumeClaim({ name, namespace }),
  );
  const phase = pvc.status?.phase ?? 'Pending';
  if (phase !== 'Bound') {
    throw new UserError(
      `PVC "${name}" in namespace "${namespace}" is ${phase}, not Bound`,
      'wait until it is Bound (kubectl get pvc), or check its StorageClass',
    );
  }
  return pvc;
}

/** The PVC, or undefined when there is none of that name. */
export async function findPvc(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<V1PersistentVolumeClaim | undefined> {
  const core = kube.config.makeApiClient(CoreV1Api);
  return kube
    .call({ verb: 'get', resource: 'persistentvolumeclaims', name, namespace }, () =>
      core.readNamespacedPersistentVolumeClaim({ name, namespace }),
    )
    .catch(ignoreNotFound);
}

export function cloneName(source: string, now: Date): string {
  return runObjectName(source, 'cloned', now);
}

/** `<source>-<what>-<unix seconds>`: the operator's clone naming, for whatever a run makes of a PVC. */
export function runObjectName(source: string, what: string, now: Date): string {
  const suffix = `-${what}-${Math.floor(now.getTime() / 1000)}`;
  // PVC names are at most 253 characters, but labels/pods derived from them
  // must stay within 63: keep the name short enough for both.
  return `${source.slice(0, 63 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

export function buildClone(
  source: V1PersistentVolumeClaim,
  name: string,
  labels: Record<string, string>,
): V1PersistentVolumeClaim {
  return buildPvcLike(source, name, labels, { kind: 'PersistentVolumeClaim', name: source.metadata!.name! });
}

/**
 * A new PVC shaped like `source` (access modes, StorageClass, volume mode, size unless `storage`
 * is given), provisioned from `dataSource`: a clone of it, or a copy of one of its snapshots.
 */
export function buildPvcLike(
  source: V1PersistentVolumeClaim,
  name: string,
  labels: Record<string, string>,
  dataSource: V1TypedLocalObjectReference,
  storage?: string,
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: source.metadata?.namespace, labels },
    spec: {
      accessModes: source.spec?.accessModes ?? ['ReadWriteOnce'],
      storageClassName: source.spec?.storageClassName,
      volumeMode: source.spec?.volumeMode,
      resources: {
        requests: {
          storage: storage ?? source.status?.capacity?.storage ?? source.spec?.resources?.requests?.storage ?? '1Gi',
        },
      },
      dataSource,
    },
  };
}

export async function createPvc(kube: KubeConnection, pvc: V1PersistentVolumeClaim): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const namespace = pvc.metadata!.namespace!;
  await kube.call({ verb: 'create', resource: 'persistentvolumeclaims', name: pvc.metadata!.name, namespace }, () =>
    core.createNamespacedPersistentVolumeClaim({ namespace, body: pvc }),
  );
}

/** How a caller names the PVC it waits for, and what it suggests when the PVC cannot be provisioned. */
export interface BindHint {
  /** e.g. `the clone "data-cloned-1700000000"`; by default `PVC "NAME"`. */
  what?: string;
  /** The fix for a provisioning failure; by default the StorageClass and the PVC's events. */
  fix?: string;
  /** A better fix found once the failure is final (it may ask the cluster); `fix` when it has none. */
  betterFix?: () => Promise<string | undefined>;
}

/**
 * How long a provisioner may go on failing before its failure counts as final. Provisioners report
 * transient errors (a busy backend, a throttled cloud API) with the same ProvisioningFailed event as
 * final ones, and retry with backoff (1, 2, 4... s): a failure still there after this is not waited out.
 */
export const PROVISIONING_GRACE_MS = 10_000;

/** Waits for Bound; fails with the provisioner's own words when its failures go on (PROVISIONING_GRACE_MS). */
export async function waitForBound(
  kube: KubeConnection,
  namespace: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
  hint: BindHint = {},
): Promise<void> {
  await waitForClaim(kube, { namespace, name, timeoutMs, signal, hint, orFirstConsumer: false });
}

/**
 * Waits for Bound, or until the PVC waits for its first consumer (a StorageClass with volumeBindingMode
 * WaitForFirstConsumer, the default on GKE and EKS: it binds once a pod that uses it is scheduled, so
 * the caller creates that pod, then waits for Bound).
 */
export async function waitForBoundOrConsumer(
  kube: KubeConnection,
  namespace: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
  hint: BindHint = {},
): Promise<'Bound' | 'WaitForFirstConsumer'> {
  return waitForClaim(kube, { namespace, name, timeoutMs, signal, hint, orFirstConsumer: true });
}

/** Whether a Pending PVC waits for its first consumer, as the PV controller says in its events. */
export async function waitsForFirstConsumer(kube: KubeConnection, pvc: V1PersistentVolumeClaim): Promise<boolean> {
  return (await claimEvents(kube, pvc)).some((e) => e.reason === 'WaitForFirstConsumer');
}

async function waitForClaim(
  kube: KubeConnection,
  wait: {
    namespace: string;
    name: string;
    timeoutMs: number;
    signal?: AbortSignal;
    hint: BindHint;
    orFirstConsumer: boolean;
  },
): Promise<'Bound' | 'WaitForFirstConsumer'> {
  const { namespace, name, timeoutMs, signal, hint } = wait;
  const core = kube.config.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  const cannot = async (failure: string) =>
    new UserError(
      `${hint.what ?? `PVC "${name}"`} cannot be provisioned: ${failure}`,
      (await hint.betterFix?.()) ?? hint.fix ?? 'check its StorageClass and events (kubectl describe pvc)',
    );
  let failure: { message: string; since: number } | undefined;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const pvc = await kube.call({ verb: 'get', resource: 'persistentvolumeclaims', name, namespace }, () =>
      core.readNamespacedPersistentVolumeClaim({ name, namespace }),
    );
    if (pvc.status?.phase === 'Bound') return 'Bound';
    const events = await claimEvents(kube, pvc);
    const failed = latest(events.filter((e) => e.reason === 'ProvisioningFailed'));
    if (failed) failure = { message: failed.message ?? 'ProvisioningFailed', since: failure?.since ?? Date.now() };
    if (failure && Date.now() - failure.since >= PROVISIONING_GRACE_MS) throw await cannot(failure.message);
    if (wait.orFirstConsumer && events.some((e) => e.reason === 'WaitForFirstConsumer')) return 'WaitForFirstConsumer';
    await sleep(500, undefined, { signal });
  }
  if (failure) throw await cannot(failure.message);
  throw new UserError(
    `${hint.what ?? `PVC "${name}"`} was not Bound within ${formatDuration(timeoutMs)}`,
    'check its StorageClass and events (kubectl describe pvc), or raise --timeout',
  );
}

function latest(events: CoreV1Event[]): CoreV1Event | undefined {
  const when = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? 0).getTime();
  return events.sort((a, b) => when(b) - when(a))[0];
}

/** The events of this PVC (not of an earlier one of the same name). */
async function claimEvents(kube: KubeConnection, pvc: V1PersistentVolumeClaim): Promise<CoreV1Event[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const { name, namespace = '', uid } = pvc.metadata!;
  const events = await kube.call({ verb: 'list', resource: 'events', namespace }, () =>
    core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${name}`,
    }),
  );
  return events.items.filter((e) => e.involvedObject.uid === uid);
}

/** Deletes a PVC and waits (bounded) until it is gone, so that a finished run leaves nothing behind. */
export async function deletePvc(kube: KubeConnection, namespace: string, name: string, waitMs = 30_000): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  await kube
    .call({ verb: 'delete', resource: 'persistentvolumeclaims', name, namespace }, () =>
      core.deleteNamespacedPersistentVolumeClaim({ name, namespace }),
    )
    .catch(ignoreNotFound);
  // The pvc-protection finalizer holds it until no pod uses it any more.
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await sleep(200)) {
    const exists = await kube
      .call({ verb: 'get', resource: 'persistentvolumeclaims', name, namespace }, () =>
        core.readNamespacedPersistentVolumeClaim({ name, namespace }),
      )
      .catch(ignoreNotFound);
    if (!exists) return;
  }
}

/** Sets one annotation on a PVC (JSON value), by merge patch. */
export async function annotatePvc(
  kube: KubeConnection,
  namespace: string,
  name: string,
  key: string,
  value: unknown,
): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  await kube.call({ verb: 'patch', resource: 'persistentvolumeclaims', name, namespace }, () =>
    core.patchNamespacedPersistentVolumeClaim(
      { name, namespace, body: { metadata: { annotations: { [key]: JSON.stringify(value) } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
}
