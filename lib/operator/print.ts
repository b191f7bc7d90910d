// Printing DataMovers, schedules and local runs: tables, the describe view.
import { formatAge, renderTable } from '../output/table.ts';
import { nextRun, parseCron } from './cron.ts';
import type { DataMoverSchedule } from './resources.ts';
import type { LocalRun, MoverView } from './status.ts';
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
  return renderTable(headers, rows);
}

function nextRunText(expression: string, now: Date): string {
  try {
    const next = nextRun(parseCron(expression), now);
    return next ? next.toISOString().replace('.000Z', 'Z') : '<never>';
  } catch {
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
  pods: Array<{ name: string; phase: string }>,
  events: CoreV1Event[],
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
    ...(job?.lastError ? [`Last error:        ${job.lastError}`] : []),
    `Pods:              ${pods.map((p) => `${p.name} (${p.phase})`).join(', ') || '<none>'}`,
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

function jobCounts(job: { attempts: number; active: number; succeeded: number; failed: number }): string {
  return `attempts ${job.attempts}, active ${job.active}, succeeded ${job.succeeded}, failed ${job.failed}`;
}
