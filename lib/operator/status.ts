// What DataMovers, schedules and local runs are doing: fetched here, printed
// by lib/operator/print.ts.
import { BatchV1Api, CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { LAST_BACKUP_ANNOTATION } from '../kube/labels.ts';
import { listObjects } from './api.ts';
import { DATAMOVERS, SCHEDULES, jobNameFor, type DataMover, type DataMoverSchedule } from './resources.ts';

export interface JobInfo {
  name: string;
  attempts: number;
  active: number;
  succeeded: number;
  failed: number;
  lastError?: string;
}

export interface MoverView {
  mover: DataMover;
  job?: JobInfo;
}

export interface LocalRun {
  namespace: string;
  pvc: string;
  time: string;
  destination: string;
  target: string;
  result: string;
}

export async function jobInfo(
  kube: KubeConnection,
  namespace: string,
  clone: string | undefined,
): Promise<JobInfo | undefined> {
  if (!clone) return undefined;
  const batch = kube.config.makeApiClient(BatchV1Api);
  const name = jobNameFor(clone);
  const job = await kube
    .call({ verb: 'get', resource: 'jobs', name, namespace }, () => batch.readNamespacedJob({ name, namespace }))
    .catch(ignoreNotFound);
  if (!job) return undefined;
  const s = job.status ?? {};
  const failedCondition = s.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  return {
    name,
    active: s.active ?? 0,
    succeeded: s.succeeded ?? 0,
    failed: s.failed ?? 0,
    attempts: (s.active ?? 0) + (s.succeeded ?? 0) + (s.failed ?? 0),
    lastError: failedCondition
      ? `${failedCondition.reason ?? 'Failed'}: ${failedCondition.message ?? ''}`.trim()
      : undefined,
  };
}

export async function moverViews(
  kube: KubeConnection,
  namespace: string | undefined,
  name?: string,
): Promise<MoverView[]> {
  const movers = (await listObjects<DataMover>(kube, DATAMOVERS, namespace)).filter(
    (m) => !name || m.metadata.name === name,
  );
  return Promise.all(
    movers.map(async (mover) => ({
      mover,
      job: await jobInfo(kube, mover.metadata.namespace!, mover.status?.restoredPvcName),
    })),
  );
}

export async function schedules(
  kube: KubeConnection,
  namespace: string | undefined,
  name?: string,
): Promise<DataMoverSchedule[]> {
  return (await listObjects<DataMoverSchedule>(kube, SCHEDULES, namespace)).filter(
    (s) => !name || s.metadata.name === name,
  );
}

/** Local-mode runs, from the annotation each run leaves on its source PVC. */
export async function localRuns(kube: KubeConnection, namespace: string | undefined): Promise<LocalRun[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const list = await kube.call({ verb: 'list', resource: 'persistentvolumeclaims', namespace }, () =>
    namespace
      ? core.listNamespacedPersistentVolumeClaim({ namespace })
      : core.listPersistentVolumeClaimForAllNamespaces(),
  );
  return list.items.flatMap((pvc) => {
    const raw = pvc.metadata?.annotations?.[LAST_BACKUP_ANNOTATION];
    if (!raw) return [];
    try {
      const record = JSON.parse(raw) as Omit<LocalRun, 'namespace' | 'pvc'>;
      return [{ namespace: pvc.metadata!.namespace!, pvc: pvc.metadata!.name!, ...record }];
    } catch {
      return [];
    }
  });
}

export async function recentEvents(kube: KubeConnection, namespace: string, names: string[]): Promise<CoreV1Event[]> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const events = await kube.call({ verb: 'list', resource: 'events', namespace }, () =>
    core.listNamespacedEvent({ namespace }),
  );
  return events.items
    .filter((e) => names.includes(e.involvedObject.name ?? ''))
    .sort(
      (a, b) =>
        new Date(String(a.lastTimestamp ?? a.eventTime ?? 0)).getTime() -
        new Date(String(b.lastTimestamp ?? b.eventTime ?? 0)).getTime(),
    )
    .slice(-10);
}
