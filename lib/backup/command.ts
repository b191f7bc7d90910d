// Flags → validated options → the local backup flow → output.
import type { CommandContext } from '../context.ts';
import { parseSize, formatBytes } from '../format/size.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { destinationOptions, type DestinationFlags } from '../destination/options.ts';
import type { Logger } from '../log.ts';
import { helperPodOptions, type HelperPodFlags } from '../kube/helper-pod-options.ts';
import { validateName } from '../kube/names.ts';
import { PhaseClock } from '../metrics/phase-clock.ts';
import { parsePushgatewayUrl, publishRunMetrics } from '../metrics/sinks.ts';
import { runLocalBackup, type LocalBackupOptions, type LocalBackupResult } from './local-backup.ts';
import { transportChoice } from '../rclone/pod-server.ts';
import type { SourceChoice } from './source.ts';
import { planLocalBackup, renderPlanText } from './dry-run.ts';
import { UsageError } from '../errors.ts';
import { compileFilters, type FilterFlags } from '../rclone/filters.ts';

export interface BackupFlags extends DestinationFlags, HelperPodFlags, FilterFlags {
  pvc: string;
  'timestamp-prefix': boolean;
  clone: boolean;
  source?: string;
  'snapshot-class'?: string;
  'from-snapshot'?: string;
  'keep-clone': boolean;
  'staging-cap': string;
  'staging-dir'?: string;
  'metrics-file'?: string;
  pushgateway?: string;
  'dry-run'?: boolean;
  transport?: string;
}

/** Every flag completed and validated; nothing here calls the cluster or the storage. */
export function backupOptions(flags: BackupFlags, log: Logger): Omit<LocalBackupOptions, 'namespace'> {
  validateName(flags.pvc, 'the PVC name');
  if (flags.pushgateway !== undefined) parsePushgatewayUrl(flags.pushgateway);
  const { transport, helper } = transportChoice(flags.transport, helperPodOptions(flags), !!flags['helper-image']);
  return {
    pvc: flags.pvc,
    destination: destinationOptions(flags, log),
    helper,
    transport,
    timestampPrefix: flags['timestamp-prefix'],
    source: sourceChoice(flags),
    keepClone: flags['keep-clone'],
    stagingCapBytes: parseSize(flags['staging-cap'], '--staging-cap'),
    stagingParent: flags['staging-dir'],
  };
}

/**
 * --source, with --no-clone (an alias of --source live), --snapshot-class (for --source snapshot) and
 * --from-snapshot (an existing snapshot: --source snapshot implied).
 */
export function sourceChoice(
  flags: Pick<BackupFlags, 'clone' | 'source' | 'snapshot-class' | 'from-snapshot'>,
): SourceChoice {
  const { source, clone } = flags;
  const className = flags['snapshot-class'];
  const existing = flags['from-snapshot'];
  if (source !== undefined && !['clone', 'snapshot', 'live'].includes(source))
    throw new UsageError(`--source "${source}" is not clone, snapshot or live`, 'pass one of them');
  if (clone === false && source !== undefined && source !== 'live')
    throw new UsageError(`--no-clone (--source live) contradicts --source ${source}`, 'pass one of them');
  const kind = source ?? (clone === false ? 'live' : existing !== undefined ? 'snapshot' : 'clone');
  if (existing !== undefined) {
    if (kind !== 'snapshot')
      throw new UsageError(`--from-snapshot backs up a snapshot; it contradicts --source ${kind}`, 'drop one of them');
    if (className !== undefined)
      throw new UsageError(
        '--snapshot-class applies to a snapshot the run takes, not to --from-snapshot',
        'drop --snapshot-class',
      );
    validateName(existing, 'the VolumeSnapshot name (--from-snapshot)');
    return { kind: 'existing-snapshot', name: existing };
  }
  if (className !== undefined && kind !== 'snapshot')
    throw new UsageError(`--snapshot-class applies to --source snapshot, not ${kind}`, 'pass --source snapshot');
  if (kind === 'snapshot') {
    if (className === undefined) return { kind };
    validateName(className, 'the VolumeSnapshotClass name (--snapshot-class)');
    return { kind, className };
  }
  return { kind: kind as 'clone' | 'live' };
}

/** Validates the flags (exit 2 on a usage error, before any call), then returns the run. */
export function prepareBackupCommand(ctx: CommandContext, flags: BackupFlags): () => Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const validated = backupOptions(flags, ctx.log);
  if (flags['dry-run'] && validated.source.kind === 'existing-snapshot')
    throw new UsageError(
      '--dry-run plans against the live PVC, not --from-snapshot',
      'drop --from-snapshot to see what a backup of the PVC would send',
    );
  return async () => {
    // rclone compiles the filters before anything is asked of the cluster: a bad one creates nothing.
    const filters = await compileFilters(validated.destination.rclonePath, flags);
    const kube = await ctx.kube();
    const options = { ...validated, namespace: kube.namespace, ...(filters ? { filters } : {}) };
    const progress = chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) });
    if (flags['dry-run']) {
      const plan = await planLocalBackup(kube, options, progress, ctx.log);
      ctx.out(format === 'text' ? renderPlanText(plan) : await renderStructured(plan, format));
      return;
    }
    const phases = new PhaseClock();
    let result: LocalBackupResult | undefined;
    try {
      result = await runLocalBackup(kube, { ...options, phases }, progress, ctx.log);
    } finally {
      if (flags['metrics-file'] || flags.pushgateway) {
        const run = {
          status: result ? ('success' as const) : ('failure' as const),
          finishedAt: Math.floor(Date.now() / 1000),
          bytesTransferred: result?.bytesSent ?? 0,
          filesTransferred: result?.filesSent ?? 0,
          phases,
        };
        const sinks = { file: flags['metrics-file'], pushgateway: flags.pushgateway };
        await publishRunMetrics(sinks, run, { namespace: options.namespace, pvc: flags.pvc }, (line) =>
          ctx.log.warn(line),
        );
      }
    }
    ctx.out(format === 'text' ? renderBackupText(result) : await renderStructured(result, format));
  };
}

export async function runBackupCommand(ctx: CommandContext, flags: BackupFlags): Promise<void> {
  await prepareBackupCommand(ctx, flags)();
}

export function renderBackupText(r: LocalBackupResult): string {
  return [
    `Backed up PVC ${r.namespace}/${r.pvc}${r.snapshot ? ` (VolumeSnapshot ${r.snapshot})` : ''} to ${r.target} ` +
      `(${r.destination})`,
    `  files: ${r.files} (${r.filesSent} sent, ${r.filesUnchanged} unchanged, ` +
      `${r.filesSeeded} copied server-side, ${r.filesDeleted} deleted at the destination)`,
    ...(r.filesFromServer ? [`  transport: ${r.filesFromServer} large files from the helper pod's rclone server`] : []),
    `  bytes: ${formatBytes(r.bytesSent)} sent, ${formatBytes(r.bytesSkipped)} skipped; ` +
      `checksums ${r.checksums}; ${r.durationSeconds}s`,
    '',
  ].join('\n');
}
