import assert from 'node:assert/strict';
import { buildManifest, manifestFromObjects, manifestJson, parseManifest } from '../../../lib/store/manifest.ts';
import type { PodFile } from '../../../lib/stream/pod-files.ts';

const meta = { createdAt: '2026-01-10T06:00:00Z', namespace: 'apps', pvc: 'data' };

const files: PodFile[] = [
  { path: 'sub', type: 'dir', size: 4096, mtime: 1_767_225_600, mode: 0o755, uid: 0, gid: 0, nlink: 1, inode: 8 },
  { path: 'sub/a.txt', type: 'file', size: 6, mtime: 1_767_225_601, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 9 },
  { path: 'sub/b.txt', type: 'file', size: 9, mtime: 1_767_225_602, mode: 0o600, uid: 0, gid: 0, nlink: 1, inode: 10 },
  { path: 'link', type: 'symlink', size: 9, mtime: 1_767_225_603, mode: 0o777, uid: 0, gid: 0, nlink: 1, inode: 11 },
  { path: 'pipe', type: 'other', size: 0, mtime: 1_767_225_604, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 12 },
];
const md5 = new Map([['sub/a.txt', 'b1946ac92492d2347c6235b4d2611184']]);

describe('backup manifest', () => {
  it('keeps a path that is not UTF-8 through its JSON as the same string (an escaped lone surrogate)', () => {
    const odd = [{ ...files[1]!, path: 'sub/caf\udce9' }];
    const text = JSON.stringify(buildManifest(odd, md5, meta));
    assert.match(text, /"path":"sub\/caf\\udce9"/);
    assert.equal(parseManifest(text).entries[0]?.path, 'sub/caf\udce9');
  });

  it('leaves out entries that are neither files, folders nor symlinks', () => {
    const paths = buildManifest(files, md5, meta).entries.map((e) => e.path);
    assert.deepEqual(paths, ['sub', 'sub/a.txt', 'sub/b.txt', 'link']);
  });

  it('records the type, mode, mtime, size and numeric owner of each entry, and says owners are recorded', () => {
    const owned = files.map((f) => (f.path === 'link' ? { ...f, uid: 999, gid: 2000 } : f));
    const manifest = buildManifest(owned, md5, meta);
    const link = manifest.entries.find((e) => e.path === 'link');
    const expected = { path: 'link', type: 'symlink', mode: 0o777, mtime: 1_767_225_603, size: 9, uid: 999, gid: 2000 };
    assert.deepEqual(link, expected);
    assert.equal(manifest.owners, true);
  });

  it('records a further name of a hard-linked file as a link to the first listed, without an MD5', () => {
    const linked = [
      ...files,
      { ...files[1]!, path: 'z-first', nlink: 2, inode: 42 },
      { ...files[1]!, path: 'a-second', nlink: 2, inode: 42 },
    ];
    const entries = buildManifest(linked, new Map([['a-second', 'x']]), meta).entries;
    assert.equal(entries.find((e) => e.path === 'a-second')?.link, 'z-first');
    assert.equal(entries.find((e) => e.path === 'a-second')?.md5, undefined);
    assert.equal(entries.find((e) => e.path === 'z-first')?.link, undefined);
  });

  it('reads "null" as an unknown format, not a crash', () => {
    assert.throws(() => parseManifest('null'), /unknown manifest format/);
  });

  it('keeps the MD5 of a file the pod hashed', () => {
    const a = buildManifest(files, md5, meta).entries.find((e) => e.path === 'sub/a.txt');
    assert.equal(a?.md5, 'b1946ac92492d2347c6235b4d2611184');
  });

  it('has no md5 field at all for a file the pod did not hash', () => {
    const b = buildManifest(files, md5, meta).entries.find((e) => e.path === 'sub/b.txt');
    assert.ok(b);
    assert.equal(Object.hasOwn(b, 'md5'), false);
  });

  it('says which namespace, PVC and time it belongs to, as format version 1', () => {
    const { version, createdAt, namespace, pvc } = buildManifest([], new Map(), meta);
    assert.deepEqual({ version, createdAt, namespace, pvc }, { version: 1, ...meta });
  });

  it('reads back what was written', () => {
    const manifest = buildManifest(files, md5, meta);
    assert.deepEqual(parseManifest(JSON.stringify(manifest)), manifest);
  });

  it("is written in pieces whose text is JSON.stringify's, for no entries, a few, and thousands", () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ ...files[1]!, path: `d/f${i}\n"x"`, inode: i }));
    for (const list of [[], files, many]) {
      const manifest = buildManifest(list, md5, { ...meta, filters: ['--include', '*.txt'] });
      const { entries, ...head } = manifest;
      const pieces = [...manifestJson(head, entries)];
      assert.equal(pieces.join(''), JSON.stringify(manifest));
      assert.ok(
        pieces.every((piece) => piece.length < 200_000),
        'a piece holds more than 1,000 entries',
      );
    }
  });

  it('refuses a manifest of another version', () => {
    assert.throws(() => parseManifest(JSON.stringify({ ...meta, version: 2, entries: [] })), /unknown manifest format/);
  });

  it('refuses a manifest without an entry list', () => {
    assert.throws(() => parseManifest(JSON.stringify({ ...meta, version: 1 })), /unknown manifest format/);
  });

  it('refuses a manifest whose entries are not a list', () => {
    assert.throws(() => parseManifest(JSON.stringify({ ...meta, version: 1, entries: {} })), /unknown manifest format/);
  });

  it('refuses text that is not JSON', () => {
    assert.throws(() => parseManifest('version: 1'), SyntaxError);
  });

  describe('of a backup without one (made by the operator)', () => {
    const objects = new Map([
      ['a/b/c.txt', { size: 3, mtime: 1_767_225_700 }],
      ['top.txt', { size: 5, mtime: 1_767_225_701 }],
      ['a/link.rclonelink', { size: 4, mtime: 1_767_225_702 }],
    ]);
    const sums = new Map([['a/b/c.txt', '900150983cd24fb0d6963f7d28e17f72']]);

    it('lists every object as a file or a link under its volume path, with size, mtime and known MD5', () => {
      const entries = manifestFromObjects(objects, sums).entries.filter((e) => e.type !== 'dir');
      assert.deepEqual(entries, [
        {
          path: 'a/b/c.txt',
          type: 'file',
          mode: 0,
          mtime: 1_767_225_700,
          size: 3,
          md5: '900150983cd24fb0d6963f7d28e17f72',
        },
        { path: 'top.txt', type: 'file', mode: 0, mtime: 1_767_225_701, size: 5 },
        { path: 'a/link', type: 'symlink', mode: 0, mtime: 1_767_225_702, size: 4 },
      ]);
    });

    it('holds each folder that holds an object, once', () => {
      const dirs = manifestFromObjects(objects, sums)
        .entries.filter((e) => e.type === 'dir')
        .map((e) => e.path);
      assert.deepEqual(dirs.sort(), ['a', 'a/b']);
    });
  });
});
