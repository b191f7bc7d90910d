import assert from 'node:assert/strict';
import { parseEnvFlags, remoteTypes } from '../../../lib/destination/destination.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('--env', () => {
  it('passes RCLONE_* tuning through', () => {
    assert.deepEqual(parseEnvFlags(['RCLONE_TRANSFERS=8', 'RCLONE_BWLIMIT=10M:off']), {
      RCLONE_TRANSFERS: '8',
      RCLONE_BWLIMIT: '10M:off',
    });
  });

  for (const name of [
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ACCESS_KEY_ID',
    'BUCKET_HOST',
    'AWS_SESSION_TOKEN',
    'RCLONE_CONFIG_DATAMOVER_ENDPOINT',
  ]) {
    it(`refuses ${name}, which would override the Secret's storage settings`, () => {
      assert.throws(
        () => parseEnvFlags([`${name}=x`]),
        (err: Error) =>
          err instanceof UsageError &&
          err.message === `--env ${name} would override the storage settings from the Secret`,
      );
    });
  }

  it('refuses a name that is not an environment variable', () => {
    assert.throws(() => parseEnvFlags(['1BAD=x']), UsageError);
    assert.throws(() => parseEnvFlags(['NOVALUE']), UsageError);
  });
});

describe('the types of the user’s remotes (rclone listremotes --long)', () => {
  it('reads each name and its backend, with any padding or later columns', () => {
    const listing = 'mine:  s3    \nother: local \nmy remote.1: crypt  a description\n\n';
    assert.deepEqual(
      [...remoteTypes(listing)],
      [
        ['mine', 's3'],
        ['other', 'local'],
        ['my remote.1', 'crypt'],
      ],
    );
  });
});
