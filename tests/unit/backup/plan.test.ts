import assert from 'node:assert/strict';
import { planTransfer } from '../../../lib/backup/plan.ts';
import { filterPodFiles } from '../../../lib/backup/local-backup.ts';
import { parseFilterDump } from '../../../lib/rclone/filters.ts';
import type { RemoteFile } from '../../../lib/rclone/listing.ts';
import { MANIFEST_NAME } from '../../../lib/store/manifest.ts';
import type { PodFile, PodFileType } from '../../../lib/stream/pod-files.ts';

const T = 1_767_225_600;

function entry(path: string, size: number, mtime = T, type: PodFileType = 'file'): PodFile {
  return { path, type, size, mtime, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: size * 1000 + path.length };
}

function remote(...objects: Array<[key: string, size: number, mtime?: number]>): Map<string, RemoteFile> {
  return new Map(objects.map(([key, size, mtime = T]) => [key, { size, mtime }]));
}

describe('transfer plan', () => {
  it('sends a file the target does not have', () => {
    const file = entry('new.txt', 10);
    assert.deepEqual(planTransfer([file], new Map()).send, [file]);
  });

  it('leaves a file alone when the target has it with the same size and mtime', () => {
    const plan = planTransfer([entry('a.txt', 10)], remote(['a.txt', 10]));
    assert.deepEqual(
      { send: plan.send.length, unchanged: plan.unchanged.map((f) => f.path) },
      { send: 0, unchanged: ['a.txt'] },
    );
  });

  it('sends a file whose mtime changed though its size did not', () => {
    const file = entry('a.txt', 10, T + 1);
    assert.deepEqual(planTransfer([file], remote(['a.txt', 10, T])).send, [file]);
  });

  it('sends a file whose size changed though its mtime did not', () => {
    const file = entry('a.txt', 11);
    assert.deepEqual(planTransfer([file], remote(['a.txt', 10])).send, [file]);
  });

  it('compares symlinks by size only, under their .rclonelink key', () => {
    const link = entry('current', 7, T + 3600, 'symlink');
    assert.deepEqual(planTransfer([link], remote(['current.rclonelink', 7, T])).unchanged, [link]);
  });

  it('sends a symlink whose target length changed', () => {
    const link = entry('current', 8, T, 'symlink');
    assert.deepEqual(planTransfer([link], remote(['current.rclonelink', 7, T])).send, [link]);
  });

  it('seeds a file unchanged since the previous backup from that folder instead of sending it', () => {
    const plan = planTransfer([entry('a.txt', 10)], new Map(), remote(['a.txt', 10]));
    assert.deepEqual({ seed: plan.seed, send: plan.send.length }, { seed: ['a.txt'], send: 0 });
  });

  it('seeds a symlink by its object key', () => {
    const plan = planTransfer([entry('current', 7, T, 'symlink')], new Map(), remote(['current.rclonelink', 7]));
    assert.deepEqual(plan.seed, ['current.rclonelink']);
  });

  it('sends a file that changed since the previous backup', () => {
    const file = entry('a.txt', 10, T + 60);
    const plan = planTransfer([file], new Map(), remote(['a.txt', 10, T]));
    assert.deepEqual({ seed: plan.seed, send: plan.send }, { seed: [], send: [file] });
  });

  it('prefers the target itself over the previous backup', () => {
    const plan = planTransfer([entry('a.txt', 10)], remote(['a.txt', 10]), remote(['a.txt', 10]));
    assert.deepEqual({ seed: plan.seed, unchanged: plan.unchanged.length }, { seed: [], unchanged: 1 });
  });

  it('deletes objects at the target that the volume no longer has', () => {
    const plan = planTransfer([entry('kept.txt', 1)], remote(['kept.txt', 1], ['gone.txt', 5], ['old.rclonelink', 3]));
    assert.deepEqual(plan.delete.sort(), ['gone.txt', 'old.rclonelink']);
  });

  it('deletes the file object of a path that became a symlink', () => {
    const plan = planTransfer([entry('current', 7, T, 'symlink')], remote(['current', 7]));
    assert.deepEqual(plan.delete, ['current']);
  });

  it('never deletes the manifest', () => {
    assert.deepEqual(planTransfer([], remote([MANIFEST_NAME, 100])).delete, []);
  });

  it('skips sockets, fifos and devices, and reports them', () => {
    const fifo = entry('pipe', 0, T, 'other');
    const plan = planTransfer([fifo], new Map());
    assert.deepEqual({ skipped: plan.skippedTypes, send: plan.send }, { skipped: [fifo], send: [] });
  });

  it('ignores folders: nothing is sent, kept or skipped for them', () => {
    const plan = planTransfer([entry('sub', 4096, T, 'dir')], new Map());
    assert.deepEqual(plan, { send: [], seed: [], unchanged: [], delete: [], skippedTypes: [], links: new Map() });
  });

  it('sends a hard-linked file once, under its first name, and keeps no object for the other names', () => {
    const first = { ...entry('a', 5), nlink: 2, inode: 77 };
    const second = { ...entry('b', 5), nlink: 2, inode: 77 };
    const plan = planTransfer([first, second], remote(['b', 5]));
    assert.deepEqual(
      plan.send.map((f) => f.path),
      ['a'],
    );
    assert.deepEqual([...plan.links], [['b', 'a']]);
    assert.deepEqual(plan.delete, ['b']);
  });
});

describe('transfer plan with filters', () => {
  // rclone lsf --dump filters --exclude 'cache/**' --exclude '*.log'
  const filters = parseFilterDump(`--- File filter rules ---
- (^|/)cache/.*$
- (^|/)[^/]*\\.log$
--- Directory filter rules ---
- (^|/)cache/.*$
`);

  it('does not delete objects the filters exclude, as rclone sync leaves them alone', () => {
    const plan = planTransfer(
      [entry('a.txt', 1)],
      remote(['a.txt', 1], ['gone.txt', 2], ['cache/blob.bin', 3], ['x/app.log', 4]),
      undefined,
      filters,
    );
    assert.deepEqual(plan.delete, ['gone.txt']);
  });

  it('keeps only what the filters keep of the listing, folders by the directory rules', () => {
    const files = [
      entry('cache', 0, T, 'dir'),
      entry('cache/blob.bin', 3),
      entry('a.txt', 1),
      entry('app.log', 2),
      entry('x', 0, T, 'dir'),
    ];
    assert.deepEqual(
      filterPodFiles(filters, files).map((f) => f.path),
      ['a.txt', 'x'],
    );
  });
});
