import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { destinationOptions, type DestinationFlags } from '../../../lib/destination/options.ts';
import { UsageError, exitCodeOf } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';

const log: Logger = { verbosity: 0, debug() {}, warn() {} };
const base: DestinationFlags = { secret: 's3-credentials', env: [], rclone: 'rclone' };

/** A usage error (exit code 2) whose message matches `message`. */
function usageError(message: RegExp) {
  return (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && message.test(err.message);
}

describe('destination flags', () => {
  it('refuses a command with neither --secret nor --remote', () => {
    assert.throws(() => destinationOptions({ env: [], rclone: 'rclone' }, log), usageError(/no destination/));
  });

  it('refuses a --secret that is not a valid Kubernetes name', () => {
    assert.throws(() => destinationOptions({ ...base, secret: 'S3_Credentials' }, log), usageError(/--secret/));
  });

  it('refuses a --remote that is not an rclone remote path', () => {
    assert.throws(
      () => destinationOptions({ env: [], rclone: 'rclone', remote: 'bucket/path' }, log),
      usageError(/--remote "bucket\/path"/),
    );
  });

  it('refuses --ca-file together with --insecure-skip-tls-verify', () => {
    // An existing file, so that only the contradiction can be wrong.
    const caFile = fileURLToPath(import.meta.url);
    assert.throws(
      () => destinationOptions({ ...base, 'ca-file': caFile, 'insecure-skip-tls-verify': true }, log),
      usageError(/--ca-file and --insecure-skip-tls-verify/),
    );
  });

  it('lets --env win over --profile and --bwlimit', () => {
    const options = destinationOptions(
      {
        ...base,
        profile: 'limited-bandwidth',
        bwlimit: '5M',
        env: ['RCLONE_BWLIMIT=1M', 'RCLONE_TRANSFERS=7'],
      },
      log,
    );
    assert.deepEqual(options.extraEnv, { RCLONE_BWLIMIT: '1M', RCLONE_TRANSFERS: '7' });
  });

  it('passes a valid --secret and the rclone path through', () => {
    const options = destinationOptions({ ...base, rclone: '/opt/rclone' }, log);
    assert.deepEqual(
      { secret: options.secret, remote: options.remote, rclonePath: options.rclonePath },
      { secret: 's3-credentials', remote: undefined, rclonePath: '/opt/rclone' },
    );
  });
});
