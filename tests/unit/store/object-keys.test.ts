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

  // What rclone 1.76's lsjson shows for local files with these names (its "standard" encoding).
  const RCLONE_NAMES: Array<[string, string]> = [
    ['a\x01b', 'a␁b'],
    ['d\x7fe', 'd␡e'],
    ['q‛r', 'q‛‛r'],
    ['q‛␊r', 'q‛‛‛␊r'],
    ['t\tu', 't␉u'],
    ['x␊y', 'x‛␊y'],
    ['‛', '‛‛'],
    ['report\nfinal.txt', 'report␊final.txt'],
  ];

  it('names control characters and quotes literal pictures as rclone does', () => {
    for (const [path, key] of RCLONE_NAMES) assert.equal(objectKey({ path, type: 'file' }), key, JSON.stringify(path));
  });

  it('maps each rclone name back to the exact path', () => {
    for (const [path, key] of RCLONE_NAMES) assert.equal(pathOfObject(key), path, JSON.stringify(key));
  });

  // What rclone 1.76 writes to S3 for local files with these names (its InvalidUtf8 encoding, seen in
  // its PUT requests: "caf\xe9" is the key "caf‛E9"), and what its S3 backend decodes them back to.
  const NOT_UTF8: Array<[string, string]> = [
    ['caf\udce9', 'caf‛E9'],
    ['\udcff\udcfe', '‛FF‛FE'],
    ['d\udcc3/f\udc80', 'd‛C3/f‛80'],
    ['old\udcff.txt', 'old‛FF.txt'],
    ['a\udcff\nb‛c', 'a‛FF␊b‛‛c'],
    ['x‛\udce9', 'x‛‛‛E9'],
  ];

  it('names each byte that is not UTF-8 as rclone does in S3 keys, "‛" and two hex digits', () => {
    for (const [path, key] of NOT_UTF8) assert.equal(objectKey({ path, type: 'file' }), key, JSON.stringify(key));
  });

  it('maps such a key back to the exact bytes', () => {
    for (const [path, key] of NOT_UTF8) assert.equal(pathOfObject(key), path, JSON.stringify(key));
  });

  it('tells a literal "‛E9" (quoted) from the byte 0xE9', () => {
    assert.equal(objectKey({ path: 'caf‛E9', type: 'file' }), 'caf‛‛E9');
    assert.equal(pathOfObject('caf‛‛E9'), 'caf‛E9');
  });

  it('reads bytes that form UTF-8 together as that text', () => {
    assert.equal(pathOfObject('caf‛C3‛A9'), 'café');
  });

  it('encodes a symlink name before its suffix', () => {
    assert.equal(objectKey({ path: 'a\nb', type: 'symlink' }), 'a␊b.rclonelink');
    assert.equal(pathOfObject('a␊b.rclonelink'), 'a\nb');
  });
});
