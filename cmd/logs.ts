import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';

export const logsCommand: CommandModule<GlobalArgs, GlobalArgs & { name: string; follow: boolean }> = {
  command: 'logs <name>',
  describe: "Print the logs of a DataMover's Job pod(s)",
  builder: (yargs) =>
    yargs
      .positional('name', { type: 'string', demandOption: true, describe: 'The DataMover' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: "Stream the newest pod's log" }),
  handler: async (argv) => {
    const { runLogs } = await import('../lib/operator/commands.ts');
    await runLogs(contextFrom(argv), argv.name, argv.follow);
  },
};
