import assert from 'node:assert/strict';
import { checkStreamSum, StreamCut } from '../../../lib/stream/tar-out.ts';

describe("a summed tar stream's check", () => {
  const ARRIVED = '0123456789abcdef0123456789abcdef';
  const OTHER = 'fedcba9876543210fedcba9876543210';

  it('passes when the pod summed the same bytes, after whatever tar printed', () => {
    checkStreamSum(ARRIVED, `${ARRIVED}  -\n`);
    checkStreamSum(ARRIVED, `tar: ./gone: No such file or directory\n${ARRIVED}  -\n`);
  });

  it('takes bytes that differ from the sum for a cut stream (the sum can arrive while stdout is cut short)', () => {
    assert.throws(
      () => checkStreamSum(ARRIVED, `${OTHER}  -\n`),
      (err: unknown) => err instanceof StreamCut && /differs from what the pod sent/.test(err.message),
    );
  });

  it('takes a stream without its sum for a cut one, to resume (the exec may report success even then)', () => {
    for (const stderr of ['', 'tar: short write\n', ARRIVED.slice(0, 20)])
      assert.throws(
        () => checkStreamSum(ARRIVED, stderr),
        (err: unknown) => err instanceof StreamCut && /before the pod's checksum/.test(err.message),
      );
  });
});
