import type { Argv, CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import type { CheckFlags } from '../lib/check/command.ts';
import { addStorageFlags } from './destination-flags.ts';

type CheckArgs = GlobalArgs & CheckFlags;

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check',
  describe:
    'Check the storage settings: Secret keys, list and write/delete in the bucket, ' +
    'from here and (--in-cluster) from a pod',
  builder: (yargs) =>
    addStorageFlags(yargs)
      .option('create-bucket', {
        type: 'boolean',
        default: false,
        describe: 'Create the bucket when it does not exist',
      })
      .option('in-cluster', {
        type: 'boolean',
        default: false,
        describe: 'Also check from a short-lived pod in the namespace',
      })
      .option('image', { type: 'string', describe: "rclone image of the --in-cluster pod (default: the operator's)" })
      .option('timeout', { type: 'string', default: '2m', describe: 'How long to wait for the --in-cluster pod' })
      .example('$0 check --secret s3-credentials', 'Check a storage Secret from this machine')
      .example(
        '$0 check --secret s3-credentials --in-cluster',
        'Also check that the cluster reaches the storage',
      ) as Argv<CheckArgs>,
  handler: async (argv) => {
    const { runCheckCommand } = await import('../lib/check/command.ts');
    await runCheckCommand(contextFrom(argv), argv);
  },
};
