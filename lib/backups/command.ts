// backups list and prune: the catalog of backups at a destination, and a
// retention policy applied to it.
import type { CommandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { formatBytes } from '../format/size.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import { destinationOptions, type DestinationFlags } from '../destination/options.ts';
import { runRclone } from '../rclone/run.ts';
import { listBackups } from '../store/catalog.ts';
import { needsCluster, openStore } from '../store/open.ts';
import { pruneSelection } from '../store/retention.ts';
import type { DestinationOptions } from '../destination/options.ts';

async function open(ctx: CommandContext, options: DestinationOptions) {
  const kube = needsCluster(options) ? await ctx.kube() : undefined;
  return (await openStore(kube, options, { verbosity: ctx.verbosity })).rclone;
}

export async function runBackupsList(ctx: CommandContext, flags: DestinationFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const rclone = await open(ctx, destinationOptions(flags, ctx.log));
  const backups = await listBackups(rclone, rclone.destination);
  const rows = backups.map(({ objects: _objects, ...b }) => b);
  if (format !== 'text') return ctx.out(await renderStructured(rows, format));
  if (!rows.length) return ctx.out(`No backups at ${rclone.destination.display}.\n`);
  ctx.out(
    renderTable(
      ['BACKUP', 'TIME', 'FILES', 'SIZE', 'MANIFEST'],
      rows.map((b) => [b.name, b.time ?? '-', String(b.files), formatBytes(b.bytes), b.manifest ? 'yes' : 'no']),
    ),
  );
}

export interface PruneFlags extends DestinationFlags {
  'keep-last'?: number;
  'keep-within'?: string;
  'dry-run': boolean;
}

export async function runPrune(ctx: CommandContext, flags: PruneFlags): Promise<void> {
  if (flags['keep-last'] === undefined && flags['keep-within'] === undefined)
    throw new UsageError('prune needs a policy', 'pass --keep-last N and/or --keep-within DURATION (e.g. 30d)');
  if (flags['keep-last'] !== undefined && (!Number.isInteger(flags['keep-last']) || flags['keep-last'] < 0))
    throw new UsageError('--keep-last must be a whole number >= 0', 'e.g. --keep-last 7');
  const keepWithinMs =
    flags['keep-within'] !== undefined ? parseDuration(flags['keep-within'], '--keep-within') : undefined;
  const rclone = await open(ctx, destinationOptions(flags, ctx.log));
  const folders = (await listBackups(rclone, rclone.destination)).filter((b) => b.name !== 'plain');
  const { keep, remove } = pruneSelection(
    folders.map((f) => f.name),
    new Date(),
    { keepLast: flags['keep-last'], keepWithinMs },
  );
  for (const name of remove) {
    const folder = folders.find((f) => f.name === name)!;
    if (!flags['dry-run']) await runRclone(rclone, ['purge', folder.path], { what: `deleting backup ${name}` });
    const verb = flags['dry-run'] ? 'would delete' : 'deleted';
    ctx.out(`${verb} ${name} (${folder.files} files, ${formatBytes(folder.bytes)})\n`);
  }
  ctx.out(`kept ${keep.length} backup${keep.length === 1 ? '' : 's'}: ${keep.join(', ') || 'none'}\n`);
}
