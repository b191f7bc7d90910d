// Where backups are: the flags every command that talks to storage shares.
import type { Argv } from 'yargs';

export function addDestinationFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('secret', { type: 'string', describe: 'Secret with the storage settings (the operator\'s format)' })
    .option('remote', { type: 'string', describe: 'A remote of your local rclone config instead (NAME:bucket/path)' })
    .conflicts('secret', 'remote')
    .option('env', { type: 'string', array: true, default: [] as string[], describe: 'RCLONE_* setting for rclone (repeatable)' })
    .option('rclone', { type: 'string', default: 'rclone', describe: 'The rclone binary to use' })
    .check((argv) => {
      if (!argv.secret && !argv.remote) throw new Error('one of --secret or --remote is required');
      return true;
    });
}
