import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import { addDestinationFlags } from './destination-flags.ts';
import type { DestinationFlags } from '../lib/destination/options.ts';
import type { PruneFlags } from '../lib/backups/command.ts';

export const backupsCommand: CommandModule<GlobalArgs, GlobalArgs & DestinationFlags> = {
  command: 'backups list',
  describe: 'List the backups at a destination (plain target and timestamp folders)',
  builder: (yargs) => addDestinationFlags(yargs) as never,
  handler: async (argv) => {
    const { runBackupsList } = await import('../lib/backups/command.ts');
    await runBackupsList(contextFrom(argv), argv);
  },
};

export const pruneCommand: CommandModule<GlobalArgs, GlobalArgs & PruneFlags> = {
  command: 'prune',
  describe: 'Delete whole timestamp folders outside a retention policy (never the newest, never the plain target)',
  builder: (yargs) =>
    addDestinationFlags(yargs)
      .option('keep-last', { type: 'number', describe: 'Keep the N newest backups' })
      .option('keep-within', { type: 'string', describe: 'Keep backups younger than this, e.g. 30d' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Only print what would be deleted' }) as never,
  handler: async (argv) => {
    const { runPrune } = await import('../lib/backups/command.ts');
    await runPrune(contextFrom(argv), argv);
  },
};
