// The operator-mode commands' logic: create (with mode selection), status,
// logs, delete, suspend/resume and run-now.
import type { CommandContext } from '../context.ts';
import { UserError, UsageError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { createObject, deleteObject, getObject, operatorInstalled, operatorMissing, patchSchedule } from './api.ts';
import { createSpec, type CreateFlags } from './options.ts';
import { preflightCreate } from './preflight.ts';
import {
  buildDataMover,
  buildSchedule,
  dataMoverFromSchedule,
  DATAMOVERS,
  SCHEDULES,
  type DataMover,
  type DataMoverSchedule,
} from './resources.ts';
import { jobPods, streamLogs, waitForMover } from './follow.ts';
import { describeMover, localRunsTable, moversTable, schedulesTable } from './print.ts';
import { localRuns, moverViews, recentEvents, schedules } from './status.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CreateCommandFlags extends CreateFlags {
  'dry-run'?: string;
  'skip-preflight': boolean;
  wait: boolean;
  timeout: string;
  mode?: string;
}

/**
 * `create`: operator mode when the DataMover CRDs are served (or --mode operator),
 * else a local backup now. Every flag of the chosen mode is validated before any
 * call; `prepareLocal` validates the local-mode flags and returns the run.
 */
export async function runCreate(
  ctx: CommandContext,
  flags: CreateCommandFlags,
  prepareLocal: () => () => Promise<void>,
): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml', 'name']);
  const dryRun = flags['dry-run'];
  if (dryRun !== undefined && !['client', 'server', 'none'].includes(dryRun))
    throw new UsageError(
      `--dry-run="${dryRun}" is not client, server or none`,
      'use --dry-run=client or --dry-run=server',
    );
  if (flags.mode !== undefined && !['operator', 'local'].includes(flags.mode))
    throw new UsageError(`--mode "${flags.mode}" is not operator or local`, 'use --mode operator or --mode local');
  if (flags.mode === 'local') return checkLocalCreate(flags, dryRun, prepareLocal)();
  if (!flags.secret)
    throw new UsageError('operator mode needs --secret', 'pass --secret NAME, or --mode local --remote R');
  const validated = createSpec(flags, '');
  const runLocal = flags.mode === 'operator' ? undefined : checkLocalCreate(flags, dryRun, prepareLocal, true);
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const kube = await ctx.kube();
  const spec = { ...validated, namespace: kube.namespace };

  if (runLocal && dryRun !== 'client' && !(await operatorInstalled(kube, kube.namespace))) {
    process.stderr.write('The DataMover operator is not installed (its CRDs are not served): using local mode.\n');
    return runLocal();
  }

  const object: DataMover | DataMoverSchedule = spec.schedule ? buildSchedule(spec) : buildDataMover(spec);
  const kind = spec.schedule ? SCHEDULES : DATAMOVERS;
  if (!flags['skip-preflight'] && dryRun !== 'client') await preflightCreate(kube, spec);
  let result: DataMover | DataMoverSchedule = object;
  if (dryRun !== 'client') result = await createObject(kube, kind, object, dryRun === 'server');
  if (format === 'json' || format === 'yaml') ctx.out(await renderStructured(result, format));
  else if (format === 'name') ctx.out(`${kind.plural}.${kind.group}/${spec.name}\n`);
  else
    ctx.out(
      `${kind.kind.toLowerCase()}.${kind.group}/${spec.name} created` +
        `${dryRun && dryRun !== 'none' ? ` (dry run: ${dryRun})` : ''} (operator mode)\n`,
    );

  if (flags.wait && !spec.schedule && (!dryRun || dryRun === 'none')) {
    const progress = chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) });
    await waitForMover(kube, spec.namespace, spec.name, { timeoutMs, progress });
  }
}

export interface StatusFlags {
  name?: string;
  watch: boolean;
}

export async function runStatus(ctx: CommandContext, flags: StatusFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'wide', 'json', 'yaml']);
  const kube = await ctx.kube();
  if (!(await operatorInstalled(kube, kube.namespace))) throw operatorMissing();
  const namespace = ctx.allNamespaces ? undefined : kube.namespace;
  if (flags.watch) return watchStatus(ctx, namespace, flags.name);

  const [views, scheduleList, runs] = await Promise.all([
    moverViews(kube, namespace, flags.name),
    schedules(kube, namespace, flags.name),
    flags.name ? [] : localRuns(kube, namespace),
  ]);
  if (flags.name && views.length === 0 && scheduleList.length === 0) {
    throw new UserError(
      `no DataMover or DataMoverSchedule "${flags.name}" in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n), or list them with kubectl datamover status',
    );
  }
  if (format === 'json' || format === 'yaml') {
    ctx.out(
      await renderStructured(
        { dataMovers: views.map((v) => ({ ...v.mover, job: v.job })), schedules: scheduleList, localRuns: runs },
        format,
      ),
    );
    return;
  }
  if (flags.name && views.length === 1) {
    const view = views[0]!;
    const ns = view.mover.metadata.namespace!;
    const pods = await jobPods(kube, ns, view.mover.status?.restoredPvcName);
    const events = await recentEvents(
      kube,
      ns,
      [flags.name, view.mover.status?.restoredPvcName ?? '', view.job?.name ?? '', ...pods.map((p) => p.name)].filter(
        Boolean,
      ),
    );
    ctx.out(describeMover(view, pods, events));
    return;
  }
  const sections: string[] = [];
  if (views.length) sections.push(moversTable(views, { wide: format === 'wide', allNamespaces: ctx.allNamespaces }));
  if (scheduleList.length) sections.push(schedulesTable(scheduleList, { allNamespaces: ctx.allNamespaces }));
  if (runs.length) sections.push(localRunsTable(runs, { allNamespaces: ctx.allNamespaces }));
  ctx.out(
    sections.length
      ? sections.join('\n')
      : `No DataMovers, schedules or local runs found${namespace ? ` in namespace "${namespace}"` : ''}.\n`,
  );
}

/** Prints each phase change as a line; with a name, ends when that DataMover is Completed or Failed. */
async function watchStatus(
  ctx: CommandContext,
  namespace: string | undefined,
  name: string | undefined,
): Promise<void> {
  const kube = await ctx.kube();
  const seen = new Map<string, string>();
  for (;;) {
    const views = await moverViews(kube, namespace, name);
    for (const { mover, job } of views) {
      const key = `${mover.metadata.namespace}/${mover.metadata.name}`;
      const phase = mover.status?.phase ?? 'Pending';
      if (seen.get(key) !== phase) {
        seen.set(key, phase);
        const who = `${namespace ? '' : `${mover.metadata.namespace}/`}${mover.metadata.name}`;
        const clone = mover.status?.restoredPvcName ? `  clone=${mover.status.restoredPvcName}` : '';
        const attempts = job ? `  job=${job.name} attempts=${job.attempts}` : '';
        ctx.out(`${new Date().toISOString()}  ${who}  ${phase}${clone}${attempts}\n`);
      }
    }
    if (name) {
      const phase = views[0]?.mover.status?.phase;
      if (!views.length)
        throw new UserError(
          `DataMover "${name}" not found in namespace "${kube.namespace}"`,
          'check the name and the namespace (-n)',
        );
      if (phase === 'Completed') return;
      if (phase === 'Failed') throw new UserError(`DataMover "${name}" failed`, `see kubectl datamover logs ${name}`);
    }
    await sleep(500);
  }
}

export async function runLogs(ctx: CommandContext, name: string, follow: boolean): Promise<void> {
  const kube = await ctx.kube();
  const mover = await getObject<DataMover>(kube, DATAMOVERS, kube.namespace, name);
  if (!mover)
    throw new UserError(
      `DataMover "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  const pods = await jobPods(kube, kube.namespace, mover.status?.restoredPvcName);
  if (!pods.length)
    throw new UserError(
      `DataMover "${name}" has no Job pod yet (phase ${mover.status?.phase ?? 'Pending'})`,
      'wait until it reaches CreatingPod, e.g. kubectl datamover status --watch',
    );
  for (const pod of pods) {
    if (pods.length > 1) ctx.out(`==> pod ${pod.name} (${pod.phase}) <==\n`);
    await streamLogs(kube, kube.namespace, pod.name, process.stdout, follow && pod === pods.at(-1));
  }
}

export async function runDelete(ctx: CommandContext, name: string, schedule: boolean): Promise<void> {
  const kube = await ctx.kube();
  const kind = schedule ? SCHEDULES : DATAMOVERS;
  await deleteObject(kube, kind, kube.namespace, name);
  ctx.out(`${kind.kind.toLowerCase()}.${kind.group}/${name} deleted\n`);
}

export async function runSuspend(ctx: CommandContext, name: string, suspend: boolean): Promise<void> {
  const kube = await ctx.kube();
  if (!(await getObject(kube, SCHEDULES, kube.namespace, name)))
    throw new UserError(
      `DataMoverSchedule "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  await patchSchedule(kube, kube.namespace, name, { suspend });
  ctx.out(`datamoverschedule.datamover.a-cup-of.coffee/${name} ${suspend ? 'suspended' : 'resumed'}\n`);
}

export async function runRunNow(ctx: CommandContext, name: string): Promise<void> {
  const kube = await ctx.kube();
  const schedule = await getObject<DataMoverSchedule>(kube, SCHEDULES, kube.namespace, name);
  if (!schedule)
    throw new UserError(
      `DataMoverSchedule "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  const moverName = `${name.slice(0, 40)}-manual-${Math.floor(Date.now() / 1000)}`;
  await createObject(kube, DATAMOVERS, dataMoverFromSchedule(schedule, moverName));
  ctx.out(`datamover.datamover.a-cup-of.coffee/${moverName} created from schedule ${name}\n`);
}

/**
 * The local-mode run of `create`, once its flags are known to be valid. With `lenient`
 * (mode not forced), operator-only flags are checked only if local mode is chosen.
 */
function checkLocalCreate(
  flags: CreateCommandFlags,
  dryRun: string | undefined,
  prepareLocal: () => () => Promise<void>,
  lenient = false,
): () => Promise<void> {
  const run = prepareLocal();
  if (lenient)
    return async () => {
      refuseOperatorOnly(flags, dryRun);
      await run();
    };
  refuseOperatorOnly(flags, dryRun);
  return run;
}

function refuseOperatorOnly(flags: CreateCommandFlags, dryRun: string | undefined): void {
  if (flags.schedule)
    throw new UsageError(
      '--schedule needs the operator; local mode runs once',
      'install the operator, or drop --schedule (run local backups from your own scheduler)',
    );
  if (dryRun && dryRun !== 'none')
    throw new UsageError('--dry-run applies to operator mode only', 'drop --dry-run, or use --mode operator');
}
