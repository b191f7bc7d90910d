import assert from 'node:assert/strict';
import { exitCodeOf, UsageError } from '../../../lib/errors.ts';
import { validateRestoreFlags } from '../../../lib/restore/restore.ts';
import { isChosen, normalizeChosenPath, selectEntries } from '../../../lib/restore/selection.ts';
import type { BackupManifest, ManifestEntry } from '../../../lib/store/manifest.ts';

const file = (path: string, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  path,
  type: 'file',
  mode: 0o644,
  mtime: 100,
  size: 1,
  uid: 0,
  gid: 0,
  ...extra,
});
const dir = (path: string): ManifestEntry => ({ ...file(path), type: 'dir', mode: 0o755, size: 0 });

function backup(entries: ManifestEntry[]): { objects: Map<string, { size: number }>; manifest: BackupManifest } {
  const objects = new Map(
    entries
      .filter((e) => e.type !== 'dir' && e.link === undefined)
      .map((e) => [e.type === 'symlink' ? `${e.path}.rclonelink` : e.path, { size: e.size }]),
  );
  return { objects, manifest: { version: 1, createdAt: '', namespace: 'ns', pvc: 'data', owners: true, entries } };
}

const TREE = [
  dir('conf'),
  file('conf/app.yaml'),
  dir('conf/sub'),
  file('conf/sub/x.txt'),
  { ...file('conf/current'), type: 'symlink' as const, size: 8 },
  file('conf.bak'),
  file('notes.txt'),
  dir('a'),
  dir('a/b'),
  file('a/b/c.txt'),
];

const usage = (flag: string) => (err: unknown) =>
  err instanceof UsageError && exitCodeOf(err) === 2 && err.message.startsWith(flag);

describe('restore --path and --to-path values', () => {
  it('takes a path relative to the volume root, without "./", doubled or trailing slashes', () => {
    assert.equal(normalizeChosenPath('./conf//sub/', '--path'), 'conf/sub');
    assert.equal(normalizeChosenPath('notes.txt', '--path'), 'notes.txt');
  });

  it('refuses an absolute path as a usage error', () => {
    assert.throws(() => normalizeChosenPath('/conf', '--path'), usage('--path "/conf" is not relative'));
  });

  it('refuses ".." anywhere in --path and --to-path', () => {
    assert.throws(() => normalizeChosenPath('conf/../etc', '--path'), usage('--path "conf/../etc" holds ".."'));
    assert.throws(() => normalizeChosenPath('../up', '--to-path'), usage('--to-path "../up" holds ".."'));
  });

  it('refuses a path that names the root itself', () => {
    assert.throws(() => normalizeChosenPath('./', '--path'), usage('--path "./" names the volume\'s root'));
    assert.throws(() => normalizeChosenPath('.', '--to-path'), usage('--to-path'));
  });

  it('refuses --delete with --path or --to-path as a usage error', () => {
    const flags = { create: false, overwrite: true, delete: true };
    assert.throws(() => validateRestoreFlags({ ...flags, path: ['conf'] }), usage('--delete cannot be used'));
    assert.throws(() => validateRestoreFlags({ ...flags, 'to-path': 'aside' }), usage('--delete cannot be used'));
  });
});

describe('choosing the entries of a backup to restore', () => {
  it('matches a file exactly and a folder with everything below it, not a name that only starts the same', () => {
    assert.equal(isChosen('conf/app.yaml', ['conf']), true);
    assert.equal(isChosen('conf', ['conf']), true);
    assert.equal(isChosen('conf.bak', ['conf']), false);
    assert.equal(isChosen('conf/app.yaml', ['conf/app']), false);
  });

  it('chooses everything, each at its own path, when no --path is given', () => {
    const { objects, manifest } = backup(TREE);
    const selection = selectEntries(objects, manifest, []);
    assert.equal(selection.files.size, objects.size);
    assert.deepEqual(selection.entries, TREE);
    assert.deepEqual(selection.parents, []);
    assert.ok([...selection.files.values()].every((f) => f.path === f.source));
  });

  it('writes a chosen file and folder (symlinks and empty parts too) and nothing else', () => {
    const { objects, manifest } = backup(TREE);
    const selection = selectEntries(objects, manifest, ['conf', 'notes.txt']);
    assert.deepEqual(
      selection.entries.map((e) => e.path),
      ['conf', 'conf/app.yaml', 'conf/sub', 'conf/sub/x.txt', 'conf/current', 'notes.txt'],
    );
    assert.deepEqual([...selection.files.keys()].sort(), [
      'conf/app.yaml',
      'conf/current.rclonelink',
      'conf/sub/x.txt',
      'notes.txt',
    ]);
    assert.deepEqual(selection.unmatched, []);
  });

  it('puts everything under --to-path, the folders above a chosen path too', () => {
    const { objects, manifest } = backup(TREE);
    const selection = selectEntries(objects, manifest, ['a/b/c.txt'], 'restored');
    assert.deepEqual([...selection.files.values()], [{ path: 'restored/a/b/c.txt', source: 'a/b/c.txt', size: 1 }]);
    assert.deepEqual(
      selection.entries.map((e) => e.path),
      ['restored/a/b/c.txt'],
    );
    assert.deepEqual(
      selection.parents.map((e) => [e.path, e.type]),
      [
        ['restored/a', 'dir'],
        ['restored/a/b', 'dir'],
      ],
    );
  });

  it('names each --path that matches nothing', () => {
    const { objects, manifest } = backup(TREE);
    const selection = selectEntries(objects, manifest, ['conf', 'conf/missing.yaml', 'nope']);
    assert.deepEqual(selection.unmatched, ['conf/missing.yaml', 'nope']);
  });

  it('matches an empty folder, which has no object', () => {
    const { objects, manifest } = backup([dir('empty'), file('x')]);
    const selection = selectEntries(objects, manifest, ['empty']);
    assert.deepEqual(selection.unmatched, []);
    assert.equal(selection.files.size, 0);
    assert.deepEqual(
      selection.entries.map((e) => e.path),
      ['empty'],
    );
  });

  it('works from the objects alone for a backup without a manifest', () => {
    const objects = new Map([
      ['conf/app.yaml', { size: 3 }],
      ['notes.txt', { size: 4 }],
    ]);
    const selection = selectEntries(objects, undefined, ['conf'], 'aside');
    assert.deepEqual(
      [...selection.files.values()],
      [{ path: 'aside/conf/app.yaml', source: 'conf/app.yaml', size: 3 }],
    );
    assert.deepEqual(selection.entries, []);
  });
});

describe('hard links among chosen paths', () => {
  const LINKED = [
    file('data/a', { size: 5, md5: 'm' }),
    file('data/b', { size: 5, link: 'data/a' }),
    file('other/c', { size: 5, link: 'data/a' }),
  ];

  it('keeps a link when all its names are chosen, and warns of nothing', () => {
    const { objects, manifest } = backup(LINKED);
    const selection = selectEntries(objects, manifest, ['data', 'other']);
    assert.deepEqual(selection.separated, []);
    assert.equal(selection.entries.find((e) => e.path === 'other/c')?.link, 'data/a');
  });

  it('restores the first name alone when its other names are not chosen, and says so', () => {
    const { objects, manifest } = backup(LINKED);
    const selection = selectEntries(objects, manifest, ['data/a']);
    assert.deepEqual(selection.separated, [{ path: 'data/a', partners: ['data/b', 'other/c'] }]);
    assert.deepEqual([...selection.files.keys()], ['data/a']);
  });

  it('gives a chosen further name the bytes of the first name, and links the other chosen names to it', () => {
    const { objects, manifest } = backup(LINKED);
    const selection = selectEntries(objects, manifest, ['data/b', 'other'], 'aside');
    assert.deepEqual(selection.separated, [{ path: 'data/b', partners: ['data/a'] }]);
    assert.deepEqual([...selection.files.entries()], [['data/a', { path: 'aside/data/b', source: 'data/a', size: 5 }]]);
    const b = selection.entries.find((e) => e.path === 'aside/data/b');
    assert.equal(b?.link, undefined);
    assert.equal(b?.md5, 'm');
    assert.equal(selection.entries.find((e) => e.path === 'aside/other/c')?.link, 'aside/data/b');
  });
});
