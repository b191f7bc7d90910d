// restore, backups list and prune: flags → options → flows → output.
import type { CommandContext } from '../context.ts';
import { UsageError, UserError } from '../errors.ts';
import { parseDuration } from '../format/duration.ts';
import { formatBytes, parseSize } from '../format/size.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { parseEnvFlags } from '../destination/destination.ts';
import { tlsEnv } from '../destination/tls.ts';
import { DEFAULT_HELPER_IMAGE } from '../kube/helper-pod.ts';
import { helperResources } from '../kube/resources.ts';
import { resolveDestination } from '../backup/destination-check.ts';
import { findRclone } from '../rclone/binary.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { listBackups } from './catalog.ts';
import { pruneSelection } from './prune.ts';
import { runRestore } from './restore.ts';

export interface DestinationFlags {
  secret?: string;
  remote?: string;
  env: string[];
  rclone: string;
  encrypt?: boolean;
  'password-secret'?: string;
  passwordEnv?: string;
  'ca-file'?: string;
  'insecure-skip-tls-verify'?: boolean;
}

function extraEnvOf(ctx: CommandContext, flags: DestinationFlags): Record<string, string> {
  return {
    ...tlsEnv({ caFile: flags['ca-file'], insecure: flags['insecure-skip-tls-verify'] }, ctx.log),
    ...parseEnvFlags(flags.env.map(String)),
  };
}

function encryptionOf(flags: DestinationFlags) {
  return { encrypt: flags.encrypt, passwordSecret: flags['password-secret'], passwordEnv: flags.passwordEnv };
}

async function rcloneFor(ctx: CommandContext, flags: DestinationFlags): Promise<RcloneContext> {
  const kube = flags.secret || flags['password-secret'] ? await ctx.kube() : undefined;
  const rclone = await findRclone(flags.rclone);
  const destination = await resolveDestination(kube, kube?.namespace ?? '', {
    ...flags,
    ...encryptionOf(flags),
    rclonePath: rclone.path,
  });
  return { binary: rclone.path, destination, extraEnv: extraEnvOf(ctx, flags), verbosity: ctx.verbosity };
}

export async function runBackupsList(ctx: CommandContext, flags: DestinationFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const rclone = await rcloneFor(ctx, flags);
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
  const rclone = await rcloneFor(ctx, flags);
  const folders = (await listBackups(rclone, rclone.destination)).filter((b) => b.name !== 'plain');
  const { keep, remove } = pruneSelection(
    folders.map((f) => f.name),
    new Date(),
    { keepLast: flags['keep-last'], keepWithinMs },
  );
  for (const name of remove) {
    const folder = folders.find((f) => f.name === name)!;
    if (!flags['dry-run']) await runRclone(rclone, ['purge', folder.path], { what: `deleting backup ${name}` });
    ctx.out(
      `${flags['dry-run'] ? 'would delete' : 'deleted'} ${name} (${folder.files} files, ${formatBytes(folder.bytes)})\n`,
    );
  }
  ctx.out(`kept ${keep.length} backup${keep.length === 1 ? '' : 's'}: ${keep.join(', ') || 'none'}\n`);
}

export interface RestoreFlags extends DestinationFlags {
  from: string;
  'to-pvc': string;
  create: boolean;
  size?: string;
  'storage-class'?: string;
  overwrite: boolean;
  delete: boolean;
  'helper-image'?: string;
  requests?: string;
  limits?: string;
  timeout: string;
  'batch-size': string;
}

export async function runRestoreCommand(ctx: CommandContext, flags: RestoreFlags): Promise<void> {
  if (flags.delete && !flags.overwrite)
    throw new UsageError(
      '--delete only works with --overwrite',
      'pass --overwrite --delete to make the PVC an exact copy of the backup',
    );
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const kube = await ctx.kube();
  const result = await runRestore(
    kube,
    {
      namespace: kube.namespace,
      from: flags.from,
      secret: flags.secret,
      remote: flags.remote,
      toPvc: flags['to-pvc'],
      create: flags.create,
      size: flags.size,
      storageClass: flags['storage-class'],
      overwrite: flags.overwrite,
      deleteExtra: flags.delete,
      helperImage: flags['helper-image'] ?? DEFAULT_HELPER_IMAGE,
      resources: helperResources(flags.requests, flags.limits),
      rclonePath: flags.rclone,
      extraEnv: extraEnvOf(ctx, flags),
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      batchBytes: parseSize(flags['batch-size'], '--batch-size'),
      ...encryptionOf(flags),
    },
    chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) }),
    ctx.log,
  );
  ctx.out(
    format === 'text'
      ? `Restored backup ${result.from} from ${result.source} into PVC ${result.namespace}/${result.pvc}: ${result.files} files, ${formatBytes(result.bytes)}, ${result.durationSeconds}s\n`
      : await renderStructured(result, format),
  );
}

export interface VerifyFlags extends DestinationFlags {
  from: string;
  'against-pvc'?: string;
  'helper-image'?: string;
  timeout: string;
}

export async function runVerifyCommand(ctx: CommandContext, flags: VerifyFlags): Promise<void> {
  const { verifyBackup } = await import('./verify-flow.ts');
  const rclone = await rcloneFor(ctx, flags);
  const kube = flags['against-pvc'] ? await ctx.kube() : undefined;
  const { checked, differences } = await verifyBackup(
    rclone,
    flags.from,
    kube && {
      kube,
      pvc: flags['against-pvc']!,
      image: flags['helper-image'] ?? DEFAULT_HELPER_IMAGE,
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      log: ctx.log,
    },
  );
  const { renderDifferences } = await import('./verify.ts');
  ctx.out(renderDifferences(differences));
  if (differences.length)
    throw new UserError(
      `${differences.length} difference${differences.length === 1 ? '' : 's'} found (listed above)`,
      'run a new backup, or restore from another one',
    );
  ctx.out(`OK: ${checked}\n`);
}
