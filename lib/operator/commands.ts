// The operator-mode commands' logic: create (with mode selection), status,
// logs, delete, suspend/resume and run-now.
import type { CommandContext } from '../context.ts';
import { UserError, UsageError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import {
  createObject,
  deleteObject,
  getObject,
  missingCrds,
  operatorMissing,
  patchSchedule,
  requireCrds,
} from './api.ts';
import { createSpec, type CreateFlags } from './options.ts';
import { preflightCreate } from './preflight.ts';
import { checkBucketBeforeRootSync } from './bucket-check.ts';
import { refuseLocalOnlyFlags, type LocalOnlyFlags } from './local-flags.ts';
import {
  buildDataMover,
  buildSchedule,
  dataMoverFromSchedule,
  DATAMOVERS,
  SCHEDULES,
  type DataMover,
  type DataMoverSchedule,
} from './resources.ts';
import { failedPodLog, jobPods, streamLogs, waitForMover } from './follow.ts';
import { describeMover, localRunsTable, moversTable, schedulesTable } from './print.ts';
import { describeJobState, jobInfo, localRuns, moverViews, recentEvents, schedules } from './status.ts';
import { followMovers } from './watch.ts';
import { deleteRunObjects } from './delete.ts';

export interface CreateCommandFlags extends CreateFlags, LocalOnlyFlags {
  'dry-run'?: string;
  'skip-preflight': boolean;
  wait: boolean;
  timeout: string;
  mode?: string;
  force?: boolean;
  /** The local rclone, which looks at the bucket before a sync into its root. */
  rclone?: string;
}

/**
 * `create`: operator mode when the DataMover CRD is served (or --mode operator),
 * else a local backup now. Every flag of the chosen mode is validated before any
 * call when the mode is forced; when it is detected, the flags only one mode
 * takes are refused right after the detection, before anything is written.
 * `prepareLocal` validates the local-mode flags and returns the run.
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
  if (flags.mode === 'operator' || dryRun === 'client') refuseLocalOnlyFlags(flags);
  const validated = createSpec(flags, '');
  const runLocal = flags.mode === 'operator' ? undefined : checkLocalCreate(flags, dryRun, prepareLocal, true);
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const kube = await ctx.kube();
  const spec = { ...validated, namespace: kube.namespace };
  const kind = spec.schedule ? SCHEDULES : DATAMOVERS;

  if (runLocal && dryRun !== 'client') {
    const missing = await missingCrds(kube, kube.namespace, [DATAMOVERS]);
    if (missing.length) {
      process.stderr.write('The DataMover operator is not installed (its CRDs are not served): using local mode.\n');
      return runLocal();
    }
    // Operator mode was detected: local-mode flags it cannot honour are refused now, before any write.
    refuseLocalOnlyFlags(flags);
  }

  const object: DataMover | DataMoverSchedule = spec.schedule ? buildSchedule(spec) : buildDataMover(spec);
  const settings = !flags['skip-preflight'] && dryRun !== 'client' ? await preflightCreate(kube, spec) : undefined;
  if (!spec.timestampPrefix && dryRun !== 'client' && !flags.force)
    await checkBucketBeforeRootSync(ctx, spec, settings, { rclone: flags.rclone, dryRun: Boolean(dryRun) });
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
  const missing = await missingCrds(kube, kube.namespace, [DATAMOVERS, SCHEDULES]);
  if (missing.includes(DATAMOVERS)) throw operatorMissing(missing);
  // Without the DataMoverSchedule CRD (the operator's Helm chart lacks it), there are no schedules to show.
  const schedulesServed = missing.length === 0;
  const namespace = ctx.allNamespaces ? undefined : kube.namespace;
  if (flags.watch) return watchStatus(ctx, namespace, flags.name);

  const [views, scheduleList, runs] = await Promise.all([
    moverViews(kube, namespace, flags.name),
    schedulesServed ? schedules(kube, namespace, flags.name) : [],
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
    const pods = view.job?.pods ?? (await jobPods(kube, ns, view.mover.status?.restoredPvcName));
    const events = await recentEvents(
      kube,
      ns,
      [flags.name, view.mover.status?.restoredPvcName ?? '', view.job?.name ?? '', ...pods.map((p) => p.name)].filter(
        Boolean,
      ),
    );
    // A failed attempt's own words: the last log lines of the Job's last failed pod.
    const failedLog = view.job && view.job.failed > 0 ? await failedPodLog(kube, ns, view.job, 10) : '';
    ctx.out(describeMover(view, pods, events, failedLog));
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
  await followMovers(kube, namespace, name, async (type, mover) => {
    const who = `${namespace ? '' : `${mover.metadata.namespace}/`}${mover.metadata.name}`;
    if (type === 'DELETED') {
      seen.delete(who);
      if (!name) return false;
      throw new UserError(`DataMover "${name}" was deleted`, 'check who deleted it (kubectl get events)');
    }
    const phase = mover.status?.phase ?? 'Pending';
    if (seen.get(who) === phase) return false;
    seen.set(who, phase);
    const job = await jobInfo(kube, mover.metadata.namespace!, mover.status?.restoredPvcName);
    const clone = mover.status?.restoredPvcName ? `  clone=${mover.status.restoredPvcName}` : '';
    const attempts = job ? `  job=${job.name} attempts=${job.attempts}` : '';
    ctx.out(`${new Date().toISOString()}  ${who}  ${phase}${clone}${attempts}\n`);
    if (!name || (phase !== 'Completed' && phase !== 'Failed')) return false;
    if (phase === 'Completed') return true;
    throw new UserError(
      `DataMover "${name}" failed` +
        (job
          ? ` (job ${job.name} ${describeJobState(job)}` +
            `${job.state === 'retrying' ? '; the operator does not change a Failed DataMover again' : ''})`
          : ''),
      `see kubectl datamover status ${name} and kubectl datamover logs ${name}`,
    );
  });
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

export interface DeleteFlags {
  schedule: boolean;
  'delete-clone': boolean;
}

/**
 * Deletes a DataMover with what the operator made for it and leaves behind: its Job (which has no
 * owner, so nothing else deletes it) with its pods, and with --delete-clone the clone PVC. With
 * --schedule, the DataMoverSchedule (the garbage collector deletes the DataMovers it owns, not their Jobs).
 */
export async function runDelete(ctx: CommandContext, name: string, flags: DeleteFlags): Promise<void> {
  if (flags.schedule && flags['delete-clone'])
    throw new UsageError('--delete-clone applies to a DataMover', "delete the schedule's DataMovers one by one");
  const kube = await ctx.kube();
  const kind = flags.schedule ? SCHEDULES : DATAMOVERS;
  await requireCrds(kube, kube.namespace, [kind]);
  if (flags.schedule) {
    await deleteObject(kube, kind, kube.namespace, name);
    ctx.out(
      `${kind.kind.toLowerCase()}.${kind.group}/${name} deleted (the DataMovers it made go with it; ` +
        'their Jobs and clones stay: delete those DataMovers first to remove them)\n',
    );
    return;
  }
  const mover = await getObject<DataMover>(kube, DATAMOVERS, kube.namespace, name);
  if (!mover)
    throw new UserError(
      `DataMover "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  // The DataMover first, so that the operator makes nothing more for it.
  await deleteObject(kube, kind, kube.namespace, name);
  const lines = await deleteRunObjects(kube, mover, flags['delete-clone']);
  ctx.out(`${[`${kind.kind.toLowerCase()}.${kind.group}/${name} deleted`, ...lines].join('\n')}\n`);
}

export async function runSuspend(ctx: CommandContext, name: string, suspend: boolean): Promise<void> {
  const kube = await ctx.kube();
  await requireCrds(kube, kube.namespace, [SCHEDULES]);
  if (!(await getObject(kube, SCHEDULES, kube.namespace, name)))
    throw new UserError(
      `DataMoverSchedule "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  await patchSchedule(kube, kube.namespace, name, { suspend });
  ctx.out(`datamoverschedule.datamover.a-cup-of.coffee/${name} ${suspend ? 'suspended' : 'resumed'}\n`);
}

/** Makes the DataMover the operator's schedule controller would make at a tick, now (see dataMoverFromSchedule). */
export async function runRunNow(ctx: CommandContext, name: string): Promise<void> {
  const kube = await ctx.kube();
  await requireCrds(kube, kube.namespace, [DATAMOVERS, SCHEDULES]);
  const schedule = await getObject<DataMoverSchedule>(kube, SCHEDULES, kube.namespace, name);
  if (!schedule)
    throw new UserError(
      `DataMoverSchedule "${name}" not found in namespace "${kube.namespace}"`,
      'check the name and the namespace (-n)',
    );
  const mover = dataMoverFromSchedule(schedule, Math.floor(Date.now() / 1000));
  await createObject(kube, DATAMOVERS, mover);
  ctx.out(
    `datamover.datamover.a-cup-of.coffee/${mover.metadata.name} created from schedule ${name} ` +
      '(owned by the schedule, like its scheduled runs; the operator counts it in the status and history ' +
      'limits at its next scheduled run, not while the schedule is suspended)\n',
  );
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
  if (lenient) {
    // The mode is not known yet: a local-mode usage error (e.g. --env BUCKET_HOST, which only
    // operator mode takes) is raised only if local mode is chosen.
    let run: (() => Promise<void>) | undefined;
    let error: unknown;
    try {
      run = prepareLocal();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      error = err;
    }
    return async () => {
      if (error) throw error;
      refuseOperatorOnly(flags, dryRun);
      await run!();
    };
  }
  const run = prepareLocal();
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
  if (flags.force)
    throw new UsageError(
      '--force applies to operator mode only (a DataMover without --timestamp-prefix over a bucket with objects)',
      'drop --force',
    );
}
