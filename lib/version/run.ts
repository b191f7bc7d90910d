import type { CommandContext } from '../context.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { clientVersion, renderVersionText, serverUnreachable, serverVersion, type VersionInfo } from './version.ts';

export async function runVersion(ctx: CommandContext, options: { clientOnly: boolean }): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const info: VersionInfo = { clientVersion: clientVersion() };
  let failure: unknown;
  if (!options.clientOnly) {
    try {
      info.serverVersion = await serverVersion(await ctx.kube());
    } catch (err) {
      failure = err;
    }
  }
  ctx.out(format === 'text' ? renderVersionText(info) : await renderStructured(info, format));
  if (failure !== undefined) throw serverUnreachable(failure);
}
