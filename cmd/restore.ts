import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import { addDestinationFlags } from './destination-flags.ts';
import { addHelperPodFlags } from './helper-pod-flags.ts';
import { addTransportFlag } from './transport-flag.ts';
import type { RestoreFlags } from '../lib/restore/command.ts';

export const restoreCommand: CommandModule<GlobalArgs, GlobalArgs & RestoreFlags> = {
  command: 'restore',
  describe: 'Restore a backup into a PVC (streamed through the API into a helper pod)',
  builder: (yargs) =>
    addTransportFlag(
      addHelperPodFlags(addDestinationFlags(yargs)),
      "large files through rclone's WebDAV server in the helper pod; image: rclone's",
    )
      .option('from', {
        type: 'string',
        default: 'latest',
        describe: 'latest, a YYYY-MM-DD-HHMMSS folder, or plain (the bucket root)',
      })
      .option('to-pvc', { type: 'string', demandOption: true, describe: 'The PVC to restore into' })
      .option('create', {
        type: 'boolean',
        default: false,
        describe: 'Create the PVC (with --size and --storage-class)',
      })
      .option('size', { type: 'string', describe: 'Size of the PVC to create, e.g. 5Gi' })
      .option('storage-class', { type: 'string', describe: 'StorageClass of the PVC to create' })
      .option('overwrite', {
        type: 'boolean',
        default: false,
        describe: 'Restore into a PVC that is not empty (its other files are kept)',
      })
      .option('delete', {
        type: 'boolean',
        default: false,
        describe: 'With --overwrite: delete files in the PVC that the backup does not hold (not with --path)',
      })
      .option('preserve-owner', {
        type: 'boolean',
        default: true,
        describe:
          "Give files their recorded uid/gid (--no-preserve-owner: the helper pod's user, for a volume " +
          'whose app runs as another user)',
      })
      .option('path', {
        type: 'string',
        array: true,
        describe: 'Restore only this file, or this folder and everything below it (repeatable; relative to the root)',
      })
      .option('to-path', {
        type: 'string',
        describe: 'Put the restored entries in this folder of the PVC instead of over the live files',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'List what would be created, overwritten or left unchanged; write nothing, create nothing',
      })
      .option('batch-size', {
        type: 'string',
        default: '64Mi',
        describe: 'Download batch size (about three batches of local disk are used)',
      })
      .example(
        '$0 restore --secret s3 --from latest --to-pvc data-restored --create --size 5Gi',
        'Restore the newest timestamped backup into a new PVC',
      )
      .example(
        '$0 restore --secret s3 --to-pvc data --path conf --to-path restored-2026-11-27 --dry-run',
        'List what restoring the folder conf beside the live files would write',
      ) as never,
  handler: async (argv) => {
    const { runRestoreCommand } = await import('../lib/restore/command.ts');
    await runRestoreCommand(contextFrom(argv), argv);
  },
};
