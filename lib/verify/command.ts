// verify: flags → validated options → the verify flow → the differences, exit 1 on any.
import type { CommandContext } from '../context.ts';
import { UserError } from '../errors.ts';
import { destinationOptions, type DestinationFlags } from '../destination/options.ts';
import { helperPodOptions, type HelperPodFlags } from '../kube/helper-pod-options.ts';
import { validateName } from '../kube/names.ts';
import { chooseRenderer } from '../progress/renderer.ts';
import { needsCluster, openStore } from '../store/open.ts';
import { renderDifferences } from './compare.ts';
import { verifyBackup } from './flow.ts';

export interface VerifyFlags extends DestinationFlags, HelperPodFlags {
  from: string;
  'against-pvc'?: string;
}

export async function runVerifyCommand(ctx: CommandContext, flags: VerifyFlags): Promise<void> {
  const destination = destinationOptions(flags, ctx.log);
  const helper = helperPodOptions(flags);
  const pvc = flags['against-pvc'];
  if (pvc !== undefined) validateName(pvc, '--against-pvc');
  const kube = needsCluster(destination) || pvc ? await ctx.kube() : undefined;
  const { rclone } = await openStore(kube, destination, { verbosity: ctx.verbosity });
  // Progress only when a helper pod is involved: a manifest check is quick and its output is the list.
  const progress = chooseRenderer({ tty: Boolean(process.stderr.isTTY), quiet: pvc === undefined });
  const against = pvc && kube ? { kube, pvc, helper } : undefined;
  const { checked, differences } = await verifyBackup(rclone, flags.from, progress, against);
  ctx.out(renderDifferences(differences));
  if (differences.length)
    throw new UserError(
      `${differences.length} difference${differences.length === 1 ? '' : 's'} found (listed above)`,
      'run a new backup, or restore from another one',
    );
  ctx.out(`OK: ${checked}\n`);
}
