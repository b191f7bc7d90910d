import type { Argv, CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import { addLocalBackupFlags } from './backup.ts';
import type { BackupFlags } from '../lib/backup/command.ts';
import type { CreateCommandFlags } from '../lib/operator/commands.ts';

type CreateArgs = GlobalArgs & Omit<BackupFlags, 'pvc'> & CreateCommandFlags;

export const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <name>',
  describe: 'Create a DataMover (or, with --schedule, a DataMoverSchedule); local mode when no operator is installed',
  builder: (yargs) =>
    addLocalBackupFlags(
      yargs.positional('name', {
        type: 'string',
        demandOption: true,
        describe: 'Name of the DataMover or DataMoverSchedule',
      }),
    )
      .option('pvc', { type: 'string', demandOption: true, describe: 'The PVC to back up (spec.sourcePvc)' })
      .option('delete-clone-after', {
        type: 'boolean',
        default: false,
        describe: 'Delete the clone after a successful sync (spec.deletePvcAfterBackup)',
      })
      .option('env-from-configmap', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'NAME=CONFIGMAP:KEY for spec.additionalEnv (repeatable)',
      })
      .option('env-from-secret', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'NAME=SECRET:KEY for spec.additionalEnv (repeatable)',
      })
      .option('image', { type: 'string', describe: 'rclone image REPOSITORY[:TAG] (spec.image)' })
      .option('pull-policy', {
        type: 'string',
        choices: ['Always', 'Never', 'IfNotPresent'],
        describe: 'spec.image.pullPolicy',
      })
      .option('schedule', { type: 'string', describe: 'Cron expression: create a DataMoverSchedule' })
      .option('suspend', { type: 'boolean', default: false, describe: 'Create the schedule suspended' })
      .option('keep-successful', { type: 'number', default: 3, describe: 'successfulJobsHistoryLimit' })
      .option('keep-failed', { type: 'number', default: 1, describe: 'failedJobsHistoryLimit' })
      .option('dry-run', {
        type: 'string',
        describe: 'client: print the object only; server: let the API server validate it',
      })
      .option('skip-preflight', {
        type: 'boolean',
        default: false,
        describe: 'Do not check the cluster first (GitOps)',
      })
      .option('wait', { type: 'boolean', default: false, describe: 'Follow the DataMover to Completed or Failed' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Without --timestamp-prefix, create even if the bucket holds objects the sync would delete',
      })
      .option('mode', {
        type: 'string',
        choices: ['operator', 'local'],
        describe: 'Force operator or local mode (default: operator when its CRDs are served)',
      })
      .check((argv) => {
        if (!argv.secret && !(argv.mode === 'local' && argv.remote))
          throw new Error('--secret is required (or --mode local --remote R)');
        return true;
      })
      .example(
        '$0 create nightly --pvc data --secret s3 --schedule "0 2 * * *" --timestamp-prefix',
        'A nightly DataMoverSchedule',
      )
      .example(
        '$0 create once --pvc data --secret s3 --dry-run=client -o yaml | kubectl apply -f -',
        'GitOps: print the object',
      ) as unknown as Argv<CreateArgs>,
  handler: async (argv) => {
    const ctx = contextFrom(argv);
    const { runCreate } = await import('../lib/operator/commands.ts');
    const { prepareBackupCommand } = await import('../lib/backup/command.ts');
    await runCreate(ctx, { ...argv, env: argv.env ?? [], secret: argv.secret ?? '' }, () =>
      prepareBackupCommand(ctx, { ...argv, pvc: argv.pvc }),
    );
  },
};
