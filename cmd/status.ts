import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs & { name?: string; watch: boolean }> = {
  command: 'status [name]',
  describe: 'Show DataMovers, schedules and local runs (one name: a detailed view)',
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', describe: 'A DataMover or DataMoverSchedule' })
      .option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'Print phase changes as they happen' })
      .example('$0 status -A -o wide', 'Everything, everywhere, with Job details'),
  handler: async (argv) => {
    const { runStatus } = await import('../lib/operator/commands.ts');
    await runStatus(contextFrom(argv), { name: argv.name, watch: argv.watch });
  },
};
