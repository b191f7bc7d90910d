import type { Argv, CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import type { BackupFlags } from '../lib/backup/command.ts';
import { addDestinationFlags } from './destination-flags.ts';
import { addHelperPodFlags } from './helper-pod-flags.ts';
import { addTransportFlag } from './transport-flag.ts';
import { STAGING_CAP_DEFAULT } from '../lib/operator/local-flags.ts';

export type BackupArgs = GlobalArgs & BackupFlags;

export function addLocalBackupFlags<T>(yargs: Argv<T>) {
  const portForward = "large files from rclone's WebDAV server in the helper pod, S3 only; image: rclone's";
  return addTransportFlag(addHelperPodFlags(addDestinationFlags(yargs)), portForward)
    .option('timestamp-prefix', {
      type: 'boolean',
      default: false,
      describe: 'Write into a new YYYY-MM-DD-HHMMSS/ folder (UTC)',
    })
    .option('clone', {
      type: 'boolean',
      default: true,
      describe: 'Back up a point-in-time clone; --no-clone reads the live PVC (--source live)',
    })
    .option('source', {
      type: 'string',
      choices: ['clone', 'snapshot', 'live'],
      describe:
        'What to read: clone (a CSI clone, the default), snapshot (a VolumeSnapshot, then a PVC from it) ' +
        'or live (the PVC itself)',
    })
    .option('snapshot-class', {
      type: 'string',
      describe: "VolumeSnapshotClass for --source snapshot (default: the PVC's CSI driver's default class)",
    })
    .option('from-snapshot', {
      type: 'string',
      describe: "Back up this existing VolumeSnapshot (in the PVC's namespace, ready to use; never deleted)",
    })
    .option('keep-clone', {
      type: 'boolean',
      default: false,
      describe: 'Keep the clone PVC (or the VolumeSnapshot and the PVC from it) after the run',
    })
    .option('staging-cap', {
      type: 'string',
      default: STAGING_CAP_DEFAULT,
      describe: 'Local staging batch size (about two batches of disk are used)',
    })
    .option('staging-dir', { type: 'string', describe: 'Where to stage (default: the system temp folder)' })
    .option('profile', {
      type: 'string',
      choices: ['high-bandwidth', 'limited-bandwidth', 'large-files'],
      describe: "rclone tuning preset from the operator's guide (--env wins)",
    })
    .option('bwlimit', { type: 'string', describe: 'Bandwidth limit for rclone, e.g. 10M (RCLONE_BWLIMIT)' })
    .option('metrics-file', {
      type: 'string',
      describe: "Write the run's metrics here (node_exporter textfile collector, *.prom)",
    })
    .option('pushgateway', { type: 'string', describe: "Push the run's metrics to this Prometheus Pushgateway URL" });
}

export const backupCommand: CommandModule<GlobalArgs, BackupArgs> = {
  command: 'backup <pvc>',
  describe: 'Back up a PVC to S3 in local mode: clone, stream through the API, upload with your rclone',
  builder: (yargs) =>
    addLocalBackupFlags(yargs.positional('pvc', { type: 'string', demandOption: true, describe: 'The PVC to back up' }))
      .option('include', { type: 'string', array: true, describe: 'Back up only files matching this rclone glob' })
      .option('exclude', { type: 'string', array: true, describe: 'Leave out files matching this rclone glob' })
      // A rule starts with "-" or "+": --filter always takes the next word, so "- *.log" is not read as flags.
      .parserConfiguration({ 'nargs-eats-options': true })
      .option('filter', { type: 'string', nargs: 1, describe: 'An rclone filter rule: "+ GLOB" or "- GLOB"' })
      .option('filter-from', { type: 'string', array: true, describe: 'Read rclone filter rules from this file' })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe:
          'Show what a backup would send, copy server-side, leave and delete, and its time; ' +
          'lists the live PVC with a read-only helper pod and writes nothing',
      })
      .example('$0 backup data --secret s3-credentials --dry-run', 'See what a backup of "data" would do')
      .example(
        '$0 backup data --secret s3-credentials --timestamp-prefix',
        'Back up PVC "data" into a new timestamp folder',
      )
      .example('$0 backup data --secret s3-credentials --exclude "cache/**"', 'Back up "data" without its cache folder')
      .example('$0 backup data --remote myremote:backups/data', 'Back up with a remote of your local rclone config')
      .example(
        '$0 backup data --secret s3-credentials --source snapshot',
        'Back up a VolumeSnapshot of "data" (taken, then removed)',
      ) as Argv<BackupArgs>,
  handler: async (argv) => {
    const { runBackupCommand } = await import('../lib/backup/command.ts');
    await runBackupCommand(contextFrom(argv), argv);
  },
};
