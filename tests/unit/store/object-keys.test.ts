import assert from 'node:assert/strict';
import { LINK_SUFFIX, objectKey, pathOfObject } from '../../../lib/store/object-keys.ts';

describe('object keys', () => {
  it('stores a regular file under its own path', () => {
    assert.equal(objectKey({ path: 'docs/report.pdf', type: 'file' }), 'docs/report.pdf');
  });

  it('stores a symlink as "<name>.rclonelink", the way rclone --links does', () => {
    assert.equal(objectKey({ path: 'current', type: 'symlink' }), 'current.rclonelink');
  });

  it('maps a symlink object back to the link path', () => {
    assert.equal(pathOfObject(objectKey({ path: 'releases/current', type: 'symlink' })), 'releases/current');
  });

  it('maps a file object back to the file path', () => {
    assert.equal(pathOfObject(objectKey({ path: 'releases/v1.tar', type: 'file' })), 'releases/v1.tar');
  });

  it('only strips the suffix at the end of the key, not from a folder named like it', () => {
    assert.equal(pathOfObject(`odd${LINK_SUFFIX}/file.txt`), `odd${LINK_SUFFIX}/file.txt`);
  });

  // Known bug (reported, not fixed here): a regular file whose name ends in ".rclonelink" gets
  // the same key as a symlink without the suffix, so pathOfObject turns it into "notes" and
  // restore (rclone copy --links) recreates it as a symlink. Enable once lib/store/object-keys.ts
  // can tell the two apart.
  it.skip('gives a regular file named "<x>.rclonelink" back under its own name', () => {
    const file = { path: `notes${LINK_SUFFIX}`, type: 'file' };
    assert.equal(pathOfObject(objectKey(file)), file.path);
  });
});
