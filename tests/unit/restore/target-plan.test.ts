import assert from 'node:assert/strict';
import { overwrittenPaths, planTarget } from '../../../lib/restore/target-plan.ts';
import { selectEntries } from '../../../lib/restore/selection.ts';
import type { BackupManifest, ManifestEntry } from '../../../lib/store/manifest.ts';
import type { PodFile } from '../../../lib/stream/pod-files.ts';

const entry = (path: string, type: ManifestEntry['type'], extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  path,
  type,
  mode: type === 'dir' ? 0o755 : 0o644,
  mtime: 100,
  size: type === 'dir' ? 0 : 3,
  uid: 1000,
  gid: 1000,
  ...extra,
});
let inode = 1;
const pod = (e: ManifestEntry, extra: Partial<PodFile> = {}): PodFile => ({
  path: e.path,
  type: e.type,
  size: e.size,
  mtime: e.mtime,
  mode: e.mode,
  uid: e.uid!,
  gid: e.gid!,
  nlink: 1,
  inode: inode++,
  ...extra,
});

const ENTRIES = [
  entry('conf', 'dir'),
  entry('conf/a.yaml', 'file'),
  entry('conf/b.yaml', 'file'),
  entry('conf/c.yaml', 'file'),
  entry('conf/link', 'symlink', { size: 6 }),
  entry('top', 'dir'),
  entry('top/deep', 'dir'),
  entry('top/deep/x', 'file'),
];
const manifest: BackupManifest = {
  version: 1,
  createdAt: '',
  namespace: 'n',
  pvc: 'p',
  owners: true,
  entries: ENTRIES,
};
const objects = new Map(
  ENTRIES.filter((e) => e.type !== 'dir').map((e) => [e.type === 'symlink' ? `${e.path}.rclonelink` : e.path, e]),
);
const options = { manifest: true, keepOwners: true, deleteExtra: false };
const at = (path: string) => ENTRIES.find((e) => e.path === path)!;

describe('what a restore does to each path of the PVC', () => {
  it('creates what is not there, leaves alike what is the same, overwrites what differs', () => {
    const listing = [
      pod(at('conf'), { mtime: 999 }),
      pod(at('conf/a.yaml')),
      pod(at('conf/b.yaml'), { size: 4 }),
      pod(at('conf/link')),
      pod({ ...entry('unrelated.txt', 'file') }),
    ];
    const plan = planTarget(selectEntries(objects, manifest, ['conf']), listing, options);
    assert.deepEqual(
      plan.paths.map((p) => `${p.action} ${p.path}`),
      ['overwrite conf', 'unchanged conf/a.yaml', 'overwrite conf/b.yaml', 'create conf/c.yaml', 'unchanged conf/link'],
    );
    assert.deepEqual(plan.counts, { create: 1, overwrite: 2, unchanged: 2, delete: 0 });
    // A folder that is there is merged into: only the file needs --overwrite.
    assert.deepEqual(
      overwrittenPaths(plan).map((p) => p.path),
      ['conf/b.yaml'],
    );
  });

  it('counts an owner, a mode or an mtime that differs as an overwrite, the owner only when owners are kept', () => {
    const listing = [pod(at('conf')), pod(at('conf/a.yaml'), { uid: 0 }), pod(at('conf/b.yaml'), { mode: 0o600 })];
    listing.push(pod(at('conf/c.yaml'), { mtime: 5 }));
    const chosen = selectEntries(objects, manifest, ['conf/a.yaml', 'conf/b.yaml', 'conf/c.yaml']);
    assert.deepEqual(
      planTarget(chosen, listing, options).paths.map((p) => p.action),
      ['overwrite', 'overwrite', 'overwrite'],
    );
    assert.deepEqual(
      planTarget(chosen, listing, { ...options, keepOwners: false }).paths.map((p) => p.action),
      ['unchanged', 'overwrite', 'overwrite'],
    );
  });

  it('creates the folders above a chosen path that the PVC lacks, and leaves those it has alone', () => {
    const selection = selectEntries(objects, manifest, ['top/deep/x']);
    const none = planTarget(selection, [], options);
    assert.deepEqual(
      none.paths.map((p) => `${p.action} ${p.path}`),
      ['create top', 'create top/deep', 'create top/deep/x'],
    );
    const some = planTarget(selection, [pod(at('top'), { mtime: 1, mode: 0o700 })], options);
    assert.deepEqual(
      some.paths.map((p) => `${p.action} ${p.path}`),
      ['create top/deep', 'create top/deep/x'],
    );
    assert.deepEqual(
      some.parents.map((p) => p.path),
      ['top/deep'],
    );
  });

  it('marks a folder where the backup has a file as a conflict that needs --overwrite', () => {
    const plan = planTarget(
      selectEntries(objects, manifest, ['conf/a.yaml']),
      [pod(at('conf')), pod(at('conf'), { path: 'conf/a.yaml' })],
      options,
    );
    assert.deepEqual(plan.paths, [{ path: 'conf/a.yaml', type: 'file', action: 'overwrite', conflict: true }]);
  });

  it('never calls anything unchanged without a manifest, and compares with the objects alone', () => {
    const selection = selectEntries(objects, undefined, ['conf']);
    const plan = planTarget(selection, [pod(at('conf/a.yaml'))], { ...options, manifest: false });
    assert.deepEqual(
      plan.paths.map((p) => `${p.action} ${p.type} ${p.path}`),
      ['overwrite file conf/a.yaml', 'create file conf/b.yaml', 'create file conf/c.yaml', 'create symlink conf/link'],
    );
  });

  it('with --delete, lists the files of the PVC the backup does not hold', () => {
    const listing = [pod(entry('stray.txt', 'file')), pod(entry('empty-dir', 'dir'))];
    const plan = planTarget(selectEntries(objects, manifest, []), listing, { ...options, deleteExtra: true });
    assert.deepEqual(
      plan.paths.filter((p) => p.action === 'delete'),
      [{ path: 'stray.txt', type: 'file', action: 'delete' }],
    );
    assert.equal(plan.counts.create, ENTRIES.length);
  });
});
