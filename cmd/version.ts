import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';

interface VersionArgs extends GlobalArgs {
  client: boolean;
}

export const versionCommand: CommandModule<GlobalArgs, VersionArgs> = {
  command: 'version',
  describe: 'Print the plugin version, and the server version when it is reachable',
  builder: (yargs) =>
    yargs.option('client', {
      type: 'boolean',
      default: false,
      describe: 'Only the plugin version; do not contact the server',
    }),
  handler: async (argv) => {
    const ctx = contextFrom(argv);
    const { runVersion } = await import('../lib/version/run.ts');
    await runVersion(ctx, { clientOnly: argv.client });
  },
};
