// restore: flags → validated options → the restore flow (or its dry run) → output.
import type { CommandContext } from '../context.ts';
import { formatBytes, parseSize } from '../format/size.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { destinationOptions, type DestinationFlags } from '../destination/options.ts';
import { helperPodOptions, type HelperPodFlags } from '../kube/helper-pod-options.ts';
import { validateName } from '../kube/names.ts';
import { runRestore, validateRestoreFlags } from './restore.ts';
import { planRestore, type RestorePlanResult } from './dry-run.ts';
import { normalizeChosenPath } from './selection.ts';
import { transportChoice } from '../rclone/pod-server.ts';

export interface RestoreFlags extends DestinationFlags, HelperPodFlags {
  from: string;
  'to-pvc': string;
  create: boolean;
  size?: string;
  'storage-class'?: string;
  overwrite: boolean;
  delete: boolean;
  'preserve-owner': boolean;
  'batch-size': string;
  path?: string[];
  'to-path'?: string;
  'dry-run': boolean;
  transport?: string;
}

export async function runRestoreCommand(ctx: CommandContext, flags: RestoreFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  validateRestoreFlags(flags);
  validateName(flags['to-pvc'], '--to-pvc');
  const paths = [...new Set((flags.path ?? []).map((p) => normalizeChosenPath(String(p), '--path')))];
  const toPath = flags['to-path'] === undefined ? undefined : normalizeChosenPath(flags['to-path'], '--to-path');
  const { transport, helper } = transportChoice(flags.transport, helperPodOptions(flags), !!flags['helper-image']);
  const validated = {
    from: flags.from,
    destination: destinationOptions(flags, ctx.log),
    helper,
    transport,
    toPvc: flags['to-pvc'],
    create: flags.create ? { size: flags.size!, storageClass: flags['storage-class'] } : undefined,
    overwrite: flags.overwrite,
    deleteExtra: flags.delete,
    preserveOwner: flags['preserve-owner'] !== false,
    batchBytes: parseSize(flags['batch-size'], '--batch-size'),
    paths,
    toPath,
  };
  const kube = await ctx.kube();
  const progress = chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) });
  const options = { ...validated, namespace: kube.namespace };
  if (flags['dry-run']) {
    const plan = await planRestore(kube, options, progress, ctx.log);
    if (plan.refused) ctx.log.warn(plan.refused);
    ctx.out(format === 'text' ? formatPlan(plan) : await renderStructured(plan, format));
    return;
  }
  const result = await runRestore(kube, options, progress, ctx.log);
  const what = `${result.files} files, ${formatBytes(result.bytes)}, ${result.durationSeconds}s`;
  const counts = result.counts
    ? ` (${result.counts.create} created, ${result.counts.overwrite} overwritten, ${result.counts.unchanged} unchanged)`
    : '';
  const into = result.toPath === undefined ? '' : ` under ${result.toPath}/`;
  const served = result.filesFromServer
    ? `; ${result.filesFromServer} large files through the pod's rclone server`
    : '';
  ctx.out(
    format === 'text'
      ? `Restored backup ${result.from} from ${result.source} into PVC ${result.namespace}/${result.pvc}${into}: ` +
          `${what}${counts}${served}\n`
      : await renderStructured(result, format),
  );
}

/** One line per path the restore would write ("create", "overwrite", "unchanged", "delete"), then the counts. */
export function formatPlan(plan: RestorePlanResult): string {
  const lines = plan.createPvc ? [`PVC ${plan.namespace}/${plan.pvc} would be created (${plan.createPvc})`] : [];
  for (const entry of plan.entries) {
    const name = `${quoteEscapedBytes(entry.path)}${entry.type === 'dir' ? '/' : ''}`;
    lines.push(`${entry.action.padEnd(9)} ${JSON.stringify(name).slice(1, -1)}`);
  }
  const { create, overwrite, unchanged } = plan.counts;
  const deleted = plan.counts.delete ? `, ${plan.counts.delete} to delete` : '';
  lines.push(
    `dry run, nothing written: ${create} to create, ${overwrite} to overwrite, ${unchanged} unchanged${deleted} ` +
      `(backup ${plan.from} into PVC ${plan.namespace}/${plan.pvc})`,
  );
  return `${lines.join('\n')}\n`;
}
