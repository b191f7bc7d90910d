// A DataMover without addTimestampPrefix makes the operator's Job run
// `rclone sync /data/ s3generic:<bucket>/`: the bucket becomes a copy of the
// clone, and every other object in it (every timestamp folder, the plugin's
// manifests) is deleted. Before writing one, `create` looks at the bucket with
// the local rclone, as local mode does, and refuses unless --force.
import type { CommandContext } from '../context.ts';
import { UserError } from '../errors.ts';
import { destinationFromSecret, TIMESTAMP_FOLDER_PATTERN } from '../destination/destination.ts';
import type { StorageSettings } from '../destination/storage-secret.ts';
import { findRclone } from '../rclone/binary.ts';
import { listRemoteObjects } from '../rclone/listing.ts';
import type { RcloneContext } from '../rclone/run.ts';
import type { CreateSpec } from './resources.ts';

export async function checkBucketBeforeRootSync(
  ctx: CommandContext,
  spec: CreateSpec,
  settings: StorageSettings | undefined,
  options: { rclone?: string; dryRun: boolean },
): Promise<void> {
  const what = spec.schedule ? 'each run of this schedule' : 'this DataMover';
  const sync = settings ? `rclone sync /data/ s3://${settings.bucket}/` : 'rclone sync /data/ into the bucket root';
  if (!settings) {
    ctx.log.warn(
      `not looking at the bucket (--skip-preflight): without --timestamp-prefix, ${what} runs "${sync}", ` +
        'which deletes every other object in the bucket',
    );
    return;
  }
  let keys: string[];
  try {
    const binary = await findRclone(options.rclone ?? 'rclone');
    const destination = destinationFromSecret(settings, spec.secret);
    // The Job's own TLS setting, if given (--insecure-skip-tls-verify or --env).
    const noCheck = spec.env.find((e) => e.name === 'RCLONE_NO_CHECK_CERTIFICATE')?.value;
    // One quick look: an endpoint that does not answer is reported after seconds, not after rclone's retries.
    const quick = {
      RCLONE_RETRIES: '1',
      RCLONE_LOW_LEVEL_RETRIES: '1',
      RCLONE_CONTIMEOUT: '5s',
      RCLONE_TIMEOUT: '20s',
    };
    const ctxRclone: RcloneContext = {
      binary: binary.path,
      destination,
      extraEnv: { ...quick, ...(noCheck ? { RCLONE_NO_CHECK_CERTIFICATE: noCheck } : {}) },
      verbosity: ctx.verbosity,
    };
    keys = [...(await listRemoteObjects(ctxRclone, destination.root, false)).keys()];
  } catch (err) {
    const why = String((err as Error).message ?? err).split('\n')[0];
    ctx.log.warn(
      `cannot look at s3://${settings.bucket} from here (${why}): without --timestamp-prefix, ${what} runs ` +
        `"${sync}", which deletes every other object in the bucket`,
    );
    return;
  }
  if (keys.length === 0) return;
  const folders = new Set(
    keys.map((k) => k.split('/')[0]!).filter((top, i) => keys[i]!.includes('/') && TIMESTAMP_FOLDER_PATTERN.test(top)),
  );
  const message =
    `s3://${settings.bucket} holds ${keys.length} object${keys.length === 1 ? '' : 's'}` +
    (folders.size ? ` (${folders.size} timestamp folder${folders.size === 1 ? '' : 's'} among them)` : '') +
    ` that ${what} would delete or overwrite: without --timestamp-prefix it runs "${sync}"`;
  if (options.dryRun) {
    ctx.log.warn(message);
    return;
  }
  throw new UserError(
    message,
    'pass --timestamp-prefix to write into a new YYYY-MM-DD-HHMMSS/ folder, or --force to sync over them',
  );
}
