// What DataMovers, schedules and local runs are doing: fetched here, printed
// by lib/operator/print.ts.
import { BatchV1Api, CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { LAST_BACKUP_ANNOTATION } from '../kube/labels.ts';
import { listObjects } from './api.ts';
import { DATAMOVERS, SCHEDULES, jobNameFor, type DataMover, type DataMoverSchedule } from './resources.ts';

export interface JobPod {
  name: string;
  phase: string;
  created: string;
  /** The container's exit code and reason, once it has terminated. */
  exitCode?: number;
  reason?: string;
}

/**
 * The operator's Job for a clone (verify-<clone>, backoffLimit 2: up to 3 attempts) as it really is.
 * The operator marks the DataMover Failed at the first failed pod and never looks again, while the
 * Job goes on retrying: `state` says what the Job itself is doing.
 */
export interface JobInfo {
  name: string;
  /** Pods the Job has started (from its counters and its pods, whichever is more). */
  attempts: number;
  /** backoffLimit + 1. */
  maxAttempts: number;
  active: number;
  succeeded: number;
  failed: number;
  state: 'running' | 'retrying' | 'succeeded' | 'failed';
  lastError?: string;
  pods: JobPod[];
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

/** The Job's pods, oldest first (the Job controller labels them job-name=<job>). */
export async function jobPods(kube: KubeConnection, namespace: string, clone: string | undefined): Promise<JobPod[]> {
  if (!clone) return [];
  const core = kube.config.makeApiClient(CoreV1Api);
  const pods = await kube.call({ verb: 'list', resource: 'pods', namespace }, () =>
    core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobNameFor(clone)}` }),
  );
  return pods.items
    .map((p) => {
      const terminated = p.status?.containerStatuses?.[0]?.state?.terminated;
      return {
        name: p.metadata!.name!,
        phase: p.status?.phase ?? 'Unknown',
        created: new Date(p.metadata?.creationTimestamp ?? 0).toISOString(),
        ...(terminated ? { exitCode: terminated.exitCode, reason: terminated.reason } : {}),
      };
    })
    .sort((a, b) => a.created.localeCompare(b.created));
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
  const pods = await jobPods(kube, namespace, clone);
  const s = job.status ?? {};
  const condition = (type: string) => s.conditions?.find((c) => c.type === type && c.status === 'True');
  // FailureTarget comes first when the backoff limit is exceeded (the Job's pods are then stopped).
  const failedCondition = condition('Failed') ?? condition('FailureTarget');
  const active = s.active ?? 0;
  const succeeded = s.succeeded ?? 0;
  const failed = s.failed ?? 0;
  const state: JobInfo['state'] =
    condition('Complete') || condition('SuccessCriteriaMet') || succeeded > 0
      ? 'succeeded'
      : failedCondition
        ? 'failed'
        : failed > 0
          ? 'retrying'
          : 'running';
  const lastFailedPod = pods.filter((p) => p.phase === 'Failed').at(-1);
  return {
    name,
    active,
    succeeded,
    failed,
    attempts: Math.max(active + succeeded + failed, pods.length),
    maxAttempts: (job.spec?.backoffLimit ?? 6) + 1,
    state,
    pods,
    lastError: failedCondition
      ? `${failedCondition.reason ?? 'Failed'}: ${failedCondition.message ?? ''}`.trim()
      : lastFailedPod
        ? `pod ${lastFailedPod.name} failed` +
          (lastFailedPod.exitCode !== undefined ? ` (exit code ${lastFailedPod.exitCode})` : '')
        : undefined,
  };
}

/** What the Job is doing, in words: "attempt 2 of 3 running, 1 failed". */
export function describeJobState(job: JobInfo): string {
  const counts = `${job.failed} failed`;
  switch (job.state) {
    case 'succeeded':
      return `succeeded at attempt ${job.attempts} of ${job.maxAttempts}`;
    case 'failed':
      return `failed: ${job.attempts} of ${job.maxAttempts} attempts failed`;
    case 'retrying':
      return job.active > 0
        ? `retrying: attempt ${job.attempts} of ${job.maxAttempts} running, ${counts}`
        : `retrying: ${counts} of ${job.maxAttempts} attempts, the next one is starting`;
    default:
      return `attempt ${job.attempts} of ${job.maxAttempts} running`;
  }
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
