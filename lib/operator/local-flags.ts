// The flags `create` shares with local mode (cmd/backup.ts addLocalBackupFlags) that the operator
// cannot honour: refused in operator mode, in one line, exit 2, before anything is written.
//
// The others map to what the operator does, and are taken:
//   --secret                      spec.secretName
//   --timestamp-prefix            spec.addTimestampPrefix
//   --env, --profile, --bwlimit   spec.additionalEnv (rclone reads RCLONE_* from its environment)
//   --insecure-skip-tls-verify    spec.additionalEnv RCLONE_NO_CHECK_CERTIFICATE=true (lib/operator/options.ts)
//   --keep-clone                  what the operator does anyway unless --delete-clone-after (deletePvcAfterBackup)
//   --timeout                     how long --wait follows the DataMover
//   --rclone                      the local rclone that looks at the bucket before a sync into its root
import { UsageError } from '../errors.ts';

/** cmd/backup.ts's default --staging-cap (yargs gives the default when the flag is absent). */
export const STAGING_CAP_DEFAULT = '128Mi';

export interface LocalOnlyFlags {
  remote?: string;
  encrypt?: boolean;
  'password-secret'?: string;
  'ca-file'?: string;
  clone?: boolean;
  source?: string;
  'snapshot-class'?: string;
  'from-snapshot'?: string;
  'keep-clone'?: boolean;
  'staging-cap'?: string;
  'staging-dir'?: string;
  'helper-image'?: string;
  'run-as'?: string;
  requests?: string;
  limits?: string;
  'metrics-file'?: string;
  pushgateway?: string;
}

const LOCAL_ONLY: Array<[string, (f: LocalOnlyFlags) => boolean, string]> = [
  ['--remote', (f) => f.remote !== undefined, "the operator's Job reads the storage from the Secret only"],
  ['--encrypt', (f) => Boolean(f.encrypt), "the operator's Job syncs unencrypted (it has no crypt remote)"],
  ['--password-secret', (f) => f['password-secret'] !== undefined, "the operator's Job does not encrypt"],
  ['--ca-file', (f) => f['ca-file'] !== undefined, "the operator's Job cannot be given a local CA file"],
  ['--no-clone', (f) => f.clone === false, 'the operator always backs up a clone'],
  ['--source', (f) => f.source !== undefined && f.source !== 'clone', 'the operator always backs up a clone'],
  ['--snapshot-class', (f) => f['snapshot-class'] !== undefined, 'the operator always backs up a clone'],
  ['--from-snapshot', (f) => f['from-snapshot'] !== undefined, 'the operator always backs up a clone'],
  [
    '--staging-cap',
    (f) => f['staging-cap'] !== undefined && f['staging-cap'] !== STAGING_CAP_DEFAULT,
    'nothing is staged locally in operator mode',
  ],
  ['--staging-dir', (f) => f['staging-dir'] !== undefined, 'nothing is staged locally in operator mode'],
  ['--helper-image', (f) => f['helper-image'] !== undefined, 'the operator runs its own Job, not a helper pod'],
  [
    '--run-as',
    (f) => f['run-as'] !== undefined && f['run-as'] !== 'auto',
    "the operator's Job runs as its image's user",
  ],
  ['--requests', (f) => f.requests !== undefined, "the operator's Job has no resource settings"],
  ['--limits', (f) => f.limits !== undefined, "the operator's Job has no resource settings"],
  ['--metrics-file', (f) => f['metrics-file'] !== undefined, 'the operator exports its own Prometheus metrics'],
  ['--pushgateway', (f) => f.pushgateway !== undefined, 'the operator exports its own Prometheus metrics'],
];

export function refuseLocalOnlyFlags(flags: LocalOnlyFlags & { 'delete-clone-after'?: boolean }): void {
  const given = LOCAL_ONLY.filter(([, isSet]) => isSet(flags));
  if (given.length) {
    const names = given.map(([name]) => name);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    const reasons = [...new Set(given.map(([, , why]) => why))].join(', ');
    throw new UsageError(
      `${list} ${names.length === 1 ? 'is a local-mode flag' : 'are local-mode flags'} ` +
        `the operator cannot honour (${reasons})`,
      `drop ${names.length === 1 ? 'it' : 'them'}, or use --mode local`,
    );
  }
  if (flags['keep-clone'] && flags['delete-clone-after'])
    throw new UsageError('--keep-clone and --delete-clone-after contradict each other', 'pass one of them');
}
