import assert from 'node:assert/strict';
import type { ManifestEntry } from '../../../lib/store/manifest.ts';
import { mtimesFromManifest } from '../../../lib/store/object-times.ts';

const MD5_A = '0cc175b9c0f1b6a831c399e269772661';
const MD5_B = '92eb5ffee6ae2fec3ad71c777531578f';

const entries: ManifestEntry[] = [
  { path: 'dir', type: 'dir', mode: 0o755, mtime: 10, size: 0 },
  { path: 'dir/a', type: 'file', mode: 0o644, mtime: 100, size: 1, md5: MD5_A },
  { path: 'dir/b', type: 'file', mode: 0o644, mtime: 200, size: 1, md5: MD5_B },
  { path: 'dir/same-as-a', type: 'file', mode: 0o644, mtime: 100, size: 1, link: 'dir/a' },
  { path: 'link', type: 'symlink', mode: 0o777, mtime: 300, size: 5 },
  { path: 'no-sum', type: 'file', mode: 0o644, mtime: 400, size: 1 },
];

describe('object mtimes from the manifest', () => {
  it("takes the mtime of each object whose listed MD5 and size are the manifest's", () => {
    const objects = new Map([
      ['dir/a', { size: 1, md5: MD5_A }],
      ['link.rclonelink', { size: 5, md5: '' }],
    ]);
    const { known, unknown } = mtimesFromManifest(objects, entries);
    assert.deepEqual(
      [...known],
      [
        ['dir/a', { size: 1, mtime: 100 }],
        ['link.rclonelink', { size: 5, mtime: 300 }],
      ],
    );
    assert.deepEqual(unknown, []);
  });

  it('looks up an object written over (another MD5), of another size, with no MD5 listed, or unrecorded', () => {
    const objects = new Map([
      ['dir/a', { size: 1, md5: MD5_B }],
      ['dir/b', { size: 2, md5: MD5_B }],
      ['no-sum', { size: 1, md5: '' }],
      ['dir/same-as-a', { size: 1, md5: MD5_A }],
      ['new', { size: 1, md5: MD5_A }],
    ]);
    const { known, unknown } = mtimesFromManifest(objects, entries);
    assert.equal(known.size, 0);
    assert.deepEqual(unknown, ['dir/a', 'dir/b', 'no-sum', 'dir/same-as-a', 'new']);
  });

  it('without a manifest, looks up every object', () => {
    const { known, unknown } = mtimesFromManifest(new Map([['x', { size: 1, md5: MD5_A }]]), []);
    assert.equal(known.size, 0);
    assert.deepEqual(unknown, ['x']);
  });
});
