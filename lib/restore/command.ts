// restore: flags → validated options → the restore flow → output.
import type { CommandContext } from '../context.ts';
import { formatBytes, parseSize } from '../format/size.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { destinationOptions, type DestinationFlags } from '../destination/options.ts';
import { helperPodOptions, type HelperPodFlags } from '../kube/helper-pod-options.ts';
import { validateName } from '../kube/names.ts';
import { runRestore, validateRestoreFlags } from './restore.ts';

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
}

export async function runRestoreCommand(ctx: CommandContext, flags: RestoreFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  validateRestoreFlags(flags);
  validateName(flags['to-pvc'], '--to-pvc');
  const validated = {
    from: flags.from,
    destination: destinationOptions(flags, ctx.log),
    helper: helperPodOptions(flags),
    toPvc: flags['to-pvc'],
    create: flags.create ? { size: flags.size!, storageClass: flags['storage-class'] } : undefined,
    overwrite: flags.overwrite,
    deleteExtra: flags.delete,
    preserveOwner: flags['preserve-owner'] !== false,
    batchBytes: parseSize(flags['batch-size'], '--batch-size'),
  };
  const kube = await ctx.kube();
  const result = await runRestore(
    kube,
    { ...validated, namespace: kube.namespace },
    chooseRenderer({ tty: format === 'text' && Boolean(process.stdout.isTTY) }),
    ctx.log,
  );
  const what = `${result.files} files, ${formatBytes(result.bytes)}, ${result.durationSeconds}s`;
  ctx.out(
    format === 'text'
      ? `Restored backup ${result.from} from ${result.source} into PVC ${result.namespace}/${result.pvc}: ${what}\n`
      : await renderStructured(result, format),
  );
}
