// Printing DataMovers, schedules and local runs: tables, the describe view.
import { formatAge, renderTable } from '../output/table.ts';
import { nextRun, parseCron } from './cron.ts';
import type { DataMoverSchedule } from './resources.ts';
import { describeJobState, type JobInfo, type LocalRun, type MoverView } from './status.ts';
import type { CoreV1Event } from '@kubernetes/client-node';

export function moversTable(
  views: MoverView[],
  options: { wide: boolean; allNamespaces: boolean; now?: Date },
): string {
  const headers = [
    ...(options.allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'PVC',
    'PHASE',
    'CLONE',
    'AGE',
    ...(options.wide ? ['SECRET', 'TIMESTAMP', 'JOB', 'ATTEMPTS', 'LAST ERROR'] : []),
  ];
  const rows = views.map(({ mover, job }) => [
    ...(options.allNamespaces ? [mover.metadata.namespace ?? ''] : []),
    mover.metadata.name ?? '',
    mover.spec.sourcePvc,
    mover.status?.phase ?? 'Pending',
    mover.status?.restoredPvcName ?? '<none>',
    formatAge(mover.metadata.creationTimestamp, options.now),
    ...(options.wide
      ? [
          mover.spec.secretName,
          String(mover.spec.addTimestampPrefix ?? false),
          job?.name ?? '<none>',
          String(job?.attempts ?? 0),
          job?.lastError ?? '<none>',
        ]
      : []),
  ]);
  return renderTable(headers, rows);
}

export function schedulesTable(items: DataMoverSchedule[], options: { allNamespaces: boolean; now?: Date }): string {
  const now = options.now ?? new Date();
  const headers = [
    ...(options.allNamespaces ? ['NAMESPACE'] : []),
    'SCHEDULE NAME',
    'PVC',
    'SCHEDULE',
    'SUSPENDED',
    'LAST RUN',
    'NEXT RUN',
    'ACTIVE',
  ];
  const rows = items.map((s) => [
    ...(options.allNamespaces ? [s.metadata.namespace ?? ''] : []),
    s.metadata.name ?? '',
    s.spec.sourcePvc,
    s.spec.schedule,
    String(s.spec.suspend ?? false),
    s.status?.lastScheduleTime ? `${formatAge(s.status.lastScheduleTime, now)} ago` : '<never>',
    s.spec.suspend ? '<suspended>' : nextRunText(s.spec.schedule, now),
    String(s.status?.activeJobs ?? s.status?.active?.length ?? 0),
  ]);
  return (
    renderTable(headers, rows) +
    'NEXT RUN is the next tick of the schedule in UTC: the operator creates the run then if it is up and ' +
    'reconciles within a second of it (it does not catch up a missed tick).\n'
  );
}

function nextRunText(expression: string, now: Date): string {
  try {
    const next = nextRun(parseCron(expression), now);
    return next ? next.toISOString().replace('.000Z', 'Z') : '<never>';
  } catch {
    // E.g. "*/0", which the CRD lets through and the operator's cron library cannot parse.
    return '<invalid>';
  }
}

export function localRunsTable(runs: LocalRun[], options: { allNamespaces: boolean; now?: Date }): string {
  const headers = [...(options.allNamespaces ? ['NAMESPACE'] : []), 'LOCAL RUN PVC', 'RESULT', 'WHEN', 'DESTINATION'];
  const rows = runs.map((r) => [
    ...(options.allNamespaces ? [r.namespace] : []),
    r.pvc,
    r.result,
    `${formatAge(r.time, options.now)} ago`,
    `${r.destination}${r.target ? ` /${r.target}` : ''}`,
  ]);
  return renderTable(headers, rows);
}

export function describeMover(
  view: MoverView,
  pods: Array<{ name: string; phase: string; exitCode?: number }>,
  events: CoreV1Event[],
  failedLog = '',
  now = new Date(),
): string {
  const { mover, job } = view;
  const lines = [
    `Name:              ${mover.metadata.name}`,
    `Namespace:         ${mover.metadata.namespace}`,
    `Phase:             ${mover.status?.phase ?? 'Pending'}`,
    `Source PVC:        ${mover.spec.sourcePvc}`,
    `Secret:            ${mover.spec.secretName}`,
    `Timestamp folder:  ${mover.spec.addTimestampPrefix ?? false}`,
    `Delete clone:      ${mover.spec.deletePvcAfterBackup ?? false}`,
    `Image:             ${mover.spec.image?.repository ?? 'ghcr.io/qjoly/datamover-rclone'}:` +
      (mover.spec.image?.tag ?? 'latest'),
    `Extra env:         ${(mover.spec.additionalEnv ?? []).map((e) => e.name).join(', ') || '<none>'}`,
    `Clone:             ${mover.status?.restoredPvcName ?? '<none>'}`,
    `Job:               ${job ? `${job.name} (${jobCounts(job)})` : '<none>'}`,
    ...(job && mover.status?.phase === 'Failed' && (job.state === 'retrying' || job.state === 'running')
      ? [
          'Note:              the operator marked it Failed at the first failed pod and does not change it again;',
        ].concat(['                   the Job is still retrying (a retry that succeeds still syncs the data)'])
      : []),
    ...(job && mover.status?.phase === 'Failed' && job.state === 'succeeded'
      ? ["Note:              Failed in the operator's status, but a retry of the Job succeeded: the data was synced"]
      : []),
    ...(job?.lastError ? [`Last error:        ${job.lastError}`] : []),
    `Pods:              ${
      pods.map((p) => `${p.name} (${p.phase}${p.exitCode !== undefined ? `, exit ${p.exitCode}` : ''})`).join(', ') ||
      '<none>'
    }`,
    ...(failedLog ? failedLog.trimEnd().split('\n') : []),
    `Age:               ${formatAge(mover.metadata.creationTimestamp, now)}`,
    'Events:',
    ...(events.length
      ? events.map(
          (e) =>
            `  ${e.type ?? ''}  ${e.reason ?? ''}  ` +
            `${e.involvedObject.kind}/${e.involvedObject.name}  ${e.message ?? ''}`,
        )
      : ['  <none>']),
  ];
  return `${lines.join('\n')}\n`;
}

function jobCounts(job: JobInfo): string {
  return (
    `attempts ${job.attempts} of ${job.maxAttempts}, active ${job.active}, succeeded ${job.succeeded}, ` +
    `failed ${job.failed}: ${describeJobState(job)}`
  );
}
