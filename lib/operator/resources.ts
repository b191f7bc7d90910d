// The operator's API (datamover.a-cup-of.coffee/v1alpha1) as plain objects:
// building DataMover and DataMoverSchedule from validated options.
import type { V1EnvVar, V1ObjectMeta } from '@kubernetes/client-node';
import type { Phase } from '../phases.ts';

export const GROUP = 'datamover.a-cup-of.coffee';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const DATAMOVERS = { group: GROUP, version: VERSION, plural: 'datamovers', kind: 'DataMover' } as const;
export const SCHEDULES = {
  group: GROUP,
  version: VERSION,
  plural: 'datamoverschedules',
  kind: 'DataMoverSchedule',
} as const;

export interface ImageSpec {
  repository?: string;
  tag?: string;
  pullPolicy?: 'Always' | 'Never' | 'IfNotPresent';
}

export interface DataMoverSpec {
  sourcePvc: string;
  secretName: string;
  additionalEnv?: V1EnvVar[];
  addTimestampPrefix?: boolean;
  deletePvcAfterBackup?: boolean;
  image?: ImageSpec;
}

export interface DataMover {
  apiVersion: typeof API_VERSION;
  kind: 'DataMover';
  metadata: V1ObjectMeta;
  spec: DataMoverSpec;
  status?: { phase?: Phase; restoredPvcName?: string };
}

export interface DataMoverScheduleSpec extends DataMoverSpec {
  schedule: string;
  suspend?: boolean;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

export interface DataMoverSchedule {
  apiVersion: typeof API_VERSION;
  kind: 'DataMoverSchedule';
  metadata: V1ObjectMeta;
  spec: DataMoverScheduleSpec;
  status?: {
    lastScheduleTime?: string;
    lastSuccessfulTime?: string;
    activeJobs?: number;
    successfulJobs?: number;
    failedJobs?: number;
    active?: Array<{ name?: string }>;
  };
}

export interface CreateSpec {
  name: string;
  namespace: string;
  pvc: string;
  secret: string;
  timestampPrefix: boolean;
  deleteCloneAfter: boolean;
  env: V1EnvVar[];
  image?: ImageSpec;
  schedule?: { cron: string; suspend: boolean; keepSuccessful: number; keepFailed: number };
}

export function buildDataMover(spec: CreateSpec): DataMover {
  return {
    apiVersion: API_VERSION,
    kind: 'DataMover',
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: moverSpec(spec),
  };
}

export function buildSchedule(spec: CreateSpec): DataMoverSchedule {
  const schedule = spec.schedule!;
  return {
    apiVersion: API_VERSION,
    kind: 'DataMoverSchedule',
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: {
      schedule: schedule.cron,
      ...moverSpec(spec),
      suspend: schedule.suspend,
      successfulJobsHistoryLimit: schedule.keepSuccessful,
      failedJobsHistoryLimit: schedule.keepFailed,
    },
  };
}

function moverSpec(spec: CreateSpec): DataMoverSpec {
  return {
    sourcePvc: spec.pvc,
    secretName: spec.secret,
    addTimestampPrefix: spec.timestampPrefix,
    deletePvcAfterBackup: spec.deleteCloneAfter,
    ...(spec.env.length ? { additionalEnv: spec.env } : {}),
    ...(spec.image ? { image: spec.image } : {}),
  };
}

/** The labels the operator's schedule controller puts on the DataMovers it makes (and lists them by). */
export const SCHEDULE_LABEL = 'datamoverschedule';
export const SCHEDULE_TIME_LABEL = 'datamoverschedule-schedule';

/**
 * A DataMover made from a schedule exactly as the operator's schedule controller makes one at a tick:
 * named <schedule>-<unix seconds>, labelled with the schedule and the time, the schedule's six
 * DataMover fields, and a controller reference to the schedule (controllerutil.SetControllerReference's
 * fields). So the operator counts it in the schedule's status, prunes it by the history limits, and
 * the garbage collector deletes it with the schedule.
 */
export function dataMoverFromSchedule(schedule: DataMoverSchedule, unixSeconds: number): DataMover {
  const { sourcePvc, secretName, addTimestampPrefix, deletePvcAfterBackup, additionalEnv, image } = schedule.spec;
  const name = schedule.metadata.name!;
  return {
    apiVersion: API_VERSION,
    kind: 'DataMover',
    metadata: {
      name: `${name}-${unixSeconds}`,
      namespace: schedule.metadata.namespace,
      labels: { [SCHEDULE_LABEL]: name, [SCHEDULE_TIME_LABEL]: String(unixSeconds) },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'DataMoverSchedule',
          name,
          uid: schedule.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      sourcePvc,
      secretName,
      ...(addTimestampPrefix !== undefined ? { addTimestampPrefix } : {}),
      ...(deletePvcAfterBackup !== undefined ? { deletePvcAfterBackup } : {}),
      ...(additionalEnv ? { additionalEnv } : {}),
      ...(image ? { image } : {}),
    },
  };
}

/** What the operator names the Job that syncs a clone. */
export function jobNameFor(clone: string): string {
  return `verify-${clone}`;
}
