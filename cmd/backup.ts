import type { Argv, CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import type { BackupFlags } from '../lib/backup/command.ts';

export type BackupArgs = GlobalArgs & BackupFlags;

export function addLocalBackupFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('secret', { type: 'string', describe: 'Secret with the storage settings (the operator\'s format)' })
    .option('remote', { type: 'string', describe: 'A remote of your local rclone config instead (NAME:bucket/path); no credential enters the cluster' })
    .conflicts('secret', 'remote')
    .option('timestamp-prefix', { type: 'boolean', default: false, describe: 'Write into a new YYYY-MM-DD-HHMMSS/ folder (UTC)' })
    .option('env', { type: 'string', array: true, default: [] as string[], describe: 'RCLONE_* setting for rclone, like the operator\'s additionalEnv (repeatable)' })
    .option('clone', { type: 'boolean', default: true, describe: 'Back up a point-in-time clone; --no-clone reads the live PVC' })
    .option('keep-clone', { type: 'boolean', default: false, describe: 'Keep the clone PVC after the run' })
    .option('helper-image', { type: 'string', describe: 'busybox-compatible image for the helper pod' })
    .option('rclone', { type: 'string', default: 'rclone', describe: 'The rclone binary to use' })
    .option('timeout', { type: 'string', default: '10m', describe: 'How long to wait for the clone and the helper pod' })
    .option('staging-cap', { type: 'string', default: '128Mi', describe: 'Local staging batch size (about two batches of disk are used)' })
    .option('staging-dir', { type: 'string', describe: 'Where to stage (default: the system temp folder)' });
}

export const backupCommand: CommandModule<GlobalArgs, BackupArgs> = {
  command: 'backup <pvc>',
  describe: 'Back up a PVC to S3 in local mode: clone, stream through the API, upload with your rclone',
  builder: (yargs) =>
    addLocalBackupFlags(yargs.positional('pvc', { type: 'string', demandOption: true, describe: 'The PVC to back up' }))
      .check((argv) => {
        if (!argv.secret && !argv.remote) throw new Error('one of --secret or --remote is required');
        return true;
      })
      .example('$0 backup data --secret s3-credentials --timestamp-prefix', 'Back up PVC "data" into a new timestamp folder')
      .example('$0 backup data --remote myremote:backups/data', 'Back up with a remote of your local rclone config') as Argv<BackupArgs>,
  handler: async (argv) => {
    const { runBackupCommand } = await import('../lib/backup/command.ts');
    await runBackupCommand(contextFrom(argv), argv);
  },
};
