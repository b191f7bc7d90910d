// Where backups are: the flags every command that talks to storage shares.
import type { Argv } from 'yargs';
import { PASSWORD_ENV } from '../lib/destination/crypt-env.ts';

export function addDestinationFlags<T>(yargs: Argv<T>) {
  return addStorageFlags(yargs)
    .option('encrypt', {
      type: 'boolean',
      default: false,
      describe: 'Use an rclone crypt remote over the destination (names and contents encrypted)',
    })
    .option('password-secret', {
      type: 'string',
      describe: `Secret NAME[:KEY] holding the encryption password (else $${PASSWORD_ENV})`,
    })
    .middleware((argv) => {
      // The password may come from the environment; it never goes on a command line.
      (argv as { passwordEnv?: string }).passwordEnv = process.env[PASSWORD_ENV];
    });
}

/** The storage itself: the operator's Secret or an rclone remote, and how to reach it. */
export function addStorageFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('secret', { type: 'string', describe: "Secret with the storage settings (the operator's format)" })
    .option('remote', { type: 'string', describe: 'A remote of your local rclone config instead (NAME:bucket/path)' })
    .conflicts('secret', 'remote')
    .option('env', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'RCLONE_* setting for rclone (repeatable)',
    })
    .option('rclone', { type: 'string', default: 'rclone', describe: 'The rclone binary to use' })
    .option('ca-file', {
      type: 'string',
      describe: "PEM file of a private CA that signed the storage's TLS certificate",
    })
    .option('insecure-skip-tls-verify', {
      type: 'boolean',
      default: false,
      describe: "Do not check the storage's TLS certificate (warns)",
    })
    .check((argv) => {
      if (!argv.secret && !argv.remote) throw new Error('one of --secret or --remote is required');
      return true;
    });
}
