import assert from 'node:assert/strict';
import type { RemoteFile } from '../../../lib/rclone/listing.ts';
import type { BackupManifest, ManifestEntry } from '../../../lib/store/manifest.ts';
import type { PodFile } from '../../../lib/stream/pod-files.ts';
import { compareWithManifest, compareWithVolume } from '../../../lib/verify/compare.ts';

const T = 1_767_225_600;
const SUM_A = 'b1946ac92492d2347c6235b4d2611184';
const SUM_OTHER = 'd41d8cd98f00b204e9800998ecf8427e';

const entries: ManifestEntry[] = [
  { path: 'sub', type: 'dir', mode: 0o755, mtime: T, size: 4096 },
  { path: 'sub/a.txt', type: 'file', mode: 0o644, mtime: T, size: 6, md5: SUM_A },
  { path: 'link', type: 'symlink', mode: 0o777, mtime: T, size: 9 },
];
const manifest: BackupManifest = { version: 1, createdAt: '', namespace: 'apps', pvc: 'data', entries };

function objects(...list: Array<[key: string, size: number]>): Map<string, RemoteFile> {
  return new Map(list.map(([key, size]) => [key, { size, mtime: T }]));
}

describe('backup against its manifest', () => {
  const complete = (): Map<string, RemoteFile> => objects(['sub/a.txt', 6], ['link.rclonelink', 9]);

  it('finds no difference when every object is there with its size and MD5', () => {
    assert.deepEqual(compareWithManifest(manifest, complete(), new Map([['sub/a.txt', SUM_A]])), []);
  });

  it('reports an object the manifest lists but the destination lacks', () => {
    const present = complete();
    present.delete('sub/a.txt');
    assert.deepEqual(compareWithManifest(manifest, present, new Map()), [{ kind: 'missing', path: 'sub/a.txt' }]);
  });

  it('looks a symlink up under its .rclonelink key', () => {
    const differences = compareWithManifest(manifest, objects(['sub/a.txt', 6], ['link', 9]), new Map());
    assert.deepEqual(differences, [
      { kind: 'missing', path: 'link' },
      { kind: 'extra', path: 'link' },
    ]);
  });

  it('reports a size difference with both sizes', () => {
    const differences = compareWithManifest(manifest, objects(['sub/a.txt', 7], ['link.rclonelink', 9]), new Map());
    assert.deepEqual(differences, [{ kind: 'size', path: 'sub/a.txt', detail: 'manifest 6 bytes, destination 7' }]);
  });

  it('reports an MD5 difference', () => {
    const differences = compareWithManifest(manifest, complete(), new Map([['sub/a.txt', SUM_OTHER]]));
    assert.deepEqual(
      differences.map((d) => [d.kind, d.path]),
      [['checksum', 'sub/a.txt']],
    );
  });

  it('does not count a missing destination MD5 (an encrypted remote) as a difference', () => {
    assert.deepEqual(compareWithManifest(manifest, complete(), new Map()), []);
  });

  it('reports an object that the manifest does not list', () => {
    const present = complete();
    present.set('stray.bin', { size: 1, mtime: T });
    assert.deepEqual(compareWithManifest(manifest, present, new Map()), [{ kind: 'extra', path: 'stray.bin' }]);
  });
});

describe('backup against a live PVC', () => {
  const live = (): PodFile[] => [
    { path: 'sub', type: 'dir', size: 4096, mtime: T, mode: 0o755, uid: 0, gid: 0, nlink: 1, inode: 69 },
    { path: 'sub/a.txt', type: 'file', size: 6, mtime: T, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 70 },
    { path: 'link', type: 'symlink', size: 9, mtime: T, mode: 0o777, uid: 0, gid: 0, nlink: 1, inode: 71 },
  ];
  const sums = new Map([['sub/a.txt', SUM_A]]);

  it('finds no difference when the PVC holds what the backup does', () => {
    assert.deepEqual(compareWithVolume(manifest, live(), sums), []);
  });

  it('reports an entry that is not in the PVC', () => {
    const files = live().filter((f) => f.path !== 'link');
    assert.deepEqual(
      compareWithVolume(manifest, files, sums).map((d) => [d.kind, d.path]),
      [['missing', 'link']],
    );
  });

  it('reports a file whose size differs', () => {
    const files = live().map((f) => (f.path === 'sub/a.txt' ? { ...f, size: 60 } : f));
    assert.deepEqual(
      compareWithVolume(manifest, files, sums).map((d) => [d.kind, d.path]),
      [['size', 'sub/a.txt']],
    );
  });

  it('does not compare the sizes of folders', () => {
    const files = live().map((f) => (f.type === 'dir' ? { ...f, size: 8192 } : f));
    assert.deepEqual(compareWithVolume(manifest, files, sums), []);
  });

  it("reports a file whose MD5 differs from the backup's", () => {
    assert.deepEqual(
      compareWithVolume(manifest, live(), new Map([['sub/a.txt', SUM_OTHER]])).map((d) => [d.kind, d.path]),
      [['checksum', 'sub/a.txt']],
    );
  });

  it('reports a file that only the PVC has', () => {
    const files = [
      ...live(),
      { path: 'new.txt', type: 'file' as const, size: 1, mtime: T, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 9 },
    ];
    assert.deepEqual(
      compareWithVolume(manifest, files, sums).map((d) => [d.kind, d.path]),
      [['extra', 'new.txt']],
    );
  });

  it('does not report a fifo or socket that only the PVC has', () => {
    const files = [
      ...live(),
      { path: 'pipe', type: 'other' as const, size: 0, mtime: T, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 8 },
    ];
    assert.deepEqual(compareWithVolume(manifest, files, sums), []);
  });
});
