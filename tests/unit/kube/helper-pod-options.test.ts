import assert from 'node:assert/strict';
import { UsageError, exitCodeOf } from '../../../lib/errors.ts';
import { DEFAULT_HELPER_IMAGE, DEFAULT_HELPER_RESOURCES } from '../../../lib/kube/helper-pod.ts';
import { helperPodOptions } from '../../../lib/kube/helper-pod-options.ts';

describe('helper pod flags', () => {
  it("uses the default image and the guide's resources when no flag is given", () => {
    const { image, resources } = helperPodOptions({ timeout: '5m' });
    assert.deepEqual({ image, resources }, { image: DEFAULT_HELPER_IMAGE, resources: DEFAULT_HELPER_RESOURCES });
  });

  it('reads --timeout as a duration in milliseconds', () => {
    assert.equal(helperPodOptions({ timeout: '1m30s' }).timeoutMs, 90_000);
  });

  it('uses --helper-image when given', () => {
    assert.equal(
      helperPodOptions({ timeout: '5m', 'helper-image': 'registry.local/busybox:1.37' }).image,
      'registry.local/busybox:1.37',
    );
  });

  it('refuses a bad --requests as a usage error (exit code 2)', () => {
    assert.throws(
      () => helperPodOptions({ timeout: '5m', requests: 'cpu=lots' }),
      (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && /--requests/.test(err.message),
    );
  });

  it('refuses a bad --timeout as a usage error (exit code 2)', () => {
    assert.throws(
      () => helperPodOptions({ timeout: 'five minutes' }),
      (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && /--timeout/.test(err.message),
    );
  });
});
