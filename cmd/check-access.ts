import type { Argv, CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import type { CheckAccessFlags } from '../lib/check/access.ts';

type CheckAccessArgs = GlobalArgs & CheckAccessFlags;

export const checkAccessCommand: CommandModule<GlobalArgs, CheckAccessArgs> = {
  command: 'check-access',
  describe: 'Check that you may do what each mode needs in the namespace (RBAC), naming what is missing',
  builder: (yargs) =>
    yargs
      .option('mode', { type: 'string', default: 'all', describe: 'local, operator or all' })
      .example(
        '$0 check-access -n shop --mode local',
        'May I run local-mode backups and restores in "shop"?',
      ) as Argv<CheckAccessArgs>,
  handler: async (argv) => {
    const { runCheckAccessCommand } = await import('../lib/check/access.ts');
    await runCheckAccessCommand(contextFrom(argv), argv);
  },
};
