import assert from 'node:assert/strict';
import { tuningEnv } from '../../../lib/destination/profiles.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('tuning profiles', () => {
  it("sets the guide's values for a profile", () => {
    assert.deepEqual(tuningEnv('limited-bandwidth', undefined, {}), { RCLONE_TRANSFERS: '2', RCLONE_BWLIMIT: '10M' });
  });

  it('lets --bwlimit and then an explicit --env win', () => {
    assert.deepEqual(tuningEnv('limited-bandwidth', '5M', { RCLONE_TRANSFERS: '3' }), {
      RCLONE_TRANSFERS: '3',
      RCLONE_BWLIMIT: '5M',
    });
  });

  it('refuses an unknown profile', () => {
    assert.throws(() => tuningEnv('fast', undefined, {}), UsageError);
  });
});
