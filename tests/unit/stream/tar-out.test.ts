import assert from 'node:assert/strict';
import { UserError } from '../../../lib/errors.ts';
import { checkStreamSum, StreamCut } from '../../../lib/stream/tar-out.ts';

describe("a summed tar stream's check", () => {
  const ARRIVED = '0123456789abcdef0123456789abcdef';
  const OTHER = 'fedcba9876543210fedcba9876543210';

  it('passes when the pod summed the same bytes, after whatever tar printed', () => {
    checkStreamSum(ARRIVED, `${ARRIVED}  -\n`);
    checkStreamSum(ARRIVED, `tar: ./gone: No such file or directory\n${ARRIVED}  -\n`);
  });

  it('fails, naming the corruption, when the bytes that arrived are not the ones the pod sent', () => {
    assert.throws(
      () => checkStreamSum(ARRIVED, `${OTHER}  -\n`),
      (err: unknown) =>
        err instanceof UserError && /arrived with a different checksum than the pod computed/.test(err.message),
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
