import type { CommandModule } from 'yargs';
import { contextFrom, type GlobalArgs } from './root.ts';
import { addDestinationFlags } from './destination-flags.ts';
import { addHelperPodFlags } from './helper-pod-flags.ts';
import type { PruneFlags, RestoreFlags, DestinationFlags } from '../lib/restore/command.ts';

export const restoreCommand: CommandModule<GlobalArgs, GlobalArgs & RestoreFlags> = {
  command: 'restore',
  describe: 'Restore a backup into a PVC (streamed through the API into a helper pod)',
  builder: (yargs) =>
    addHelperPodFlags(addDestinationFlags(yargs))
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
        describe: 'With --overwrite: delete files in the PVC that the backup does not hold',
      })
      .option('timeout', {
        type: 'string',
        default: '10m',
        describe: 'How long to wait for the PVC and the helper pod',
      })
      .option('batch-size', {
        type: 'string',
        default: '64Mi',
        describe: 'Download batch size (local disk used at once)',
      })
      .example(
        '$0 restore --secret s3 --from latest --to-pvc data-restored --create --size 5Gi',
        'Restore the newest timestamped backup into a new PVC',
      ) as never,
  handler: async (argv) => {
    const { runRestoreCommand } = await import('../lib/restore/command.ts');
    await runRestoreCommand(contextFrom(argv), argv);
  },
};

export const backupsCommand: CommandModule<GlobalArgs, GlobalArgs & DestinationFlags> = {
  command: 'backups list',
  describe: 'List the backups at a destination (plain target and timestamp folders)',
  builder: (yargs) => addDestinationFlags(yargs) as never,
  handler: async (argv) => {
    const { runBackupsList } = await import('../lib/restore/command.ts');
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
    const { runPrune } = await import('../lib/restore/command.ts');
    await runPrune(contextFrom(argv), argv);
  },
};

export const verifyCommand: CommandModule<GlobalArgs, GlobalArgs & import('../lib/restore/command.ts').VerifyFlags> = {
  command: 'verify',
  describe: 'Check every object of a backup against its manifest (size, MD5), and optionally against a live PVC',
  builder: (yargs) =>
    addDestinationFlags(yargs)
      .option('from', { type: 'string', default: 'latest', describe: 'latest, a YYYY-MM-DD-HHMMSS folder, or plain' })
      .option('against-pvc', {
        type: 'string',
        describe: 'Also compare with the files of this PVC (hashed in a helper pod)',
      })
      .option('helper-image', { type: 'string', describe: 'busybox-compatible image for the helper pod' })
      .option('timeout', { type: 'string', default: '10m', describe: 'How long to wait for the helper pod' }) as never,
  handler: async (argv) => {
    const { runVerifyCommand } = await import('../lib/restore/command.ts');
    await runVerifyCommand(contextFrom(argv), argv);
  },
};
