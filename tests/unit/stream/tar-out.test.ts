import assert from 'node:assert/strict';
import { UserError } from '../../../lib/errors.ts';
import { checkStreamSum } from '../../../lib/stream/tar-out.ts';

describe("a summed tar stream's check", () => {
  const ARRIVED = '0123456789abcdef0123456789abcdef';
  const OTHER = 'fedcba9876543210fedcba9876543210';

  it('passes when the pod summed the same bytes, even after tar reported a file it could not read', () => {
    checkStreamSum(ARRIVED, `${ARRIVED}  -\n`, true);
    checkStreamSum(ARRIVED, `tar: ./gone: No such file or directory\n${ARRIVED}  -\n`, false);
  });

  it('fails, naming the corruption, when the bytes that arrived are not the ones the pod sent', () => {
    assert.throws(
      () => checkStreamSum(ARRIVED, `${OTHER}  -\n`, true),
      (err: unknown) =>
        err instanceof UserError && /arrived with a different checksum than the pod computed/.test(err.message),
    );
  });

  it('fails when a stream that ended well carries no sum', () => {
    assert.throws(() => checkStreamSum(ARRIVED, 'tar: something\n', true), /without the checksum of it/);
  });

  it('leaves a failed stream without a sum to the resume (its files are summed again at the end)', () => {
    checkStreamSum(ARRIVED, 'tar: short write\n', false);
  });
});
