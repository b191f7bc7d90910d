// Which files of a restore --transport port-forward the helper pod's server writes.
import assert from 'node:assert/strict';
import { SERVER_MIN_BYTES } from '../../../lib/rclone/pod-server.ts';
import { serverRestoreFiles } from '../../../lib/restore/server-restore.ts';
import type { SelectedFile } from '../../../lib/restore/selection.ts';
import type { ManifestEntry } from '../../../lib/store/manifest.ts';

const LARGE = SERVER_MIN_BYTES;

function entry(path: string, size: number, extra: Partial<ManifestEntry> = {}): ManifestEntry {
  return { path, type: 'file', mode: 0o644, mtime: 0, size, md5: 'd41d8cd98f00b204e9800998ecf8427e', ...extra };
}

describe('restore --transport port-forward: the server’s files', () => {
  it('takes regular files of the manifest with an MD5, plain names, from 16 MiB; the rest go by exec', () => {
    const entries = [
      entry('large.bin', LARGE),
      entry('dir/with space.bin', LARGE),
      entry('small.bin', LARGE - 1),
      entry('no-md5.bin', LARGE, { md5: undefined }),
      entry('back\\slash.bin', LARGE),
      entry('new\nline.bin', LARGE),
      entry('link', LARGE, { type: 'symlink' }),
      entry('moved.bin', LARGE),
    ];
    const files = new Map<string, SelectedFile>(
      entries.map((e) => [e.path, { path: e.path, source: e.path, size: e.size }] as const),
    );
    // --to-path: the object is at its backup path, the file goes elsewhere (both plain): still the server's.
    files.set('moved.bin', { path: 'aside/moved.bin', source: 'moved.bin', size: LARGE });
    const byPath = new Map(entries.map((e) => [e.path, e]));
    byPath.set('aside/moved.bin', entry('aside/moved.bin', LARGE));
    assert.deepEqual(
      serverRestoreFiles(files, byPath).map((f) => f.file.path),
      ['large.bin', 'dir/with space.bin', 'aside/moved.bin'],
    );
  });

  it('leaves a further name of a hard link to the links made after the files', () => {
    const files = new Map<string, SelectedFile>([['b.bin', { path: 'b.bin', source: 'b.bin', size: LARGE }]]);
    const entries = new Map([['b.bin', entry('b.bin', LARGE, { link: 'a.bin' })]]);
    assert.deepEqual(serverRestoreFiles(files, entries), []);
  });
});
