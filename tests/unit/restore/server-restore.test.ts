// Which files of a restore --transport port-forward the helper pod's server writes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busybox, busyboxEnv } from '../support/busybox.ts';
import { SERVER_MIN_BYTES } from '../../../lib/rclone/pod-server.ts';
import {
  incomingFolder,
  namingCommand,
  namingInput,
  parseTargetRoot,
  removeIncomingCommand,
  type ServedFile,
  serverRestoreFiles,
  TARGET_ROOT_CHECK,
} from '../../../lib/restore/server-restore.ts';
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

describe('restore --transport port-forward: naming what arrived (the pod’s BusyBox)', () => {
  let volume: string;
  beforeEach(function () {
    if (!busybox()) this.skip(); // npm run setup installs it
    volume = mkdtempSync(join(tmpdir(), 'naming-'));
    mkdirSync(join(volume, '.in', 'dir'), { recursive: true });
  });
  afterEach(() => rmSync(volume, { recursive: true, force: true }));

  const served = (key: string, path: string, extra: Partial<ManifestEntry> = {}): ServedFile => ({
    key,
    file: { path, source: key, size: 1 },
    entry: entry(path, 1, { mode: 0o4750, mtime: 1_600_000_000, uid: 1000, gid: 2000, ...extra }),
  });
  const run = (files: ServedFile[], keepOwners: boolean, input = namingInput(files, keepOwners)) => {
    const [command, ...args] = [busybox()!, ...namingCommand('.in', files.length)];
    return spawnSync(command!, args, { cwd: volume, input, env: busyboxEnv() });
  };

  it('gives each file its owner, mode (setuid kept) and mtime, then its name in folders it makes', () => {
    writeFileSync(join(volume, '.in', 'a.bin'), 'a');
    writeFileSync(join(volume, '.in', 'dir', 'b.bin'), 'b');
    const result = run([served('a.bin', 'a.bin'), served('dir/b.bin', 'aside/deep/b.bin', { mode: 0o600 })], true);
    assert.equal(result.status, 0, String(result.stderr));
    assert.equal(String(result.stdout), 'datamover-named\n');
    const a = lstatSync(join(volume, 'a.bin'));
    assert.deepEqual([a.uid, a.gid, a.mode & 0o7777, a.mtimeMs / 1000], [1000, 2000, 0o4750, 1_600_000_000]);
    assert.equal(readFileSync(join(volume, 'aside', 'deep', 'b.bin'), 'utf8'), 'b');
    assert.equal(lstatSync(join(volume, 'aside', 'deep', 'b.bin')).mode & 0o7777, 0o600);
    assert.ok(!existsSync(join(volume, '.in')), 'the incoming folder is left');
  });

  it('without owners leaves the writer’s', () => {
    writeFileSync(join(volume, '.in', 'a.bin'), 'a');
    const result = run([served('a.bin', 'a.bin')], false);
    assert.equal(result.status, 0, String(result.stderr));
    assert.equal(lstatSync(join(volume, 'a.bin')).uid, process.getuid?.());
  });

  it('refuses a folder under the name, never moving the file into it, and says nothing is named', () => {
    writeFileSync(join(volume, '.in', 'a.bin'), 'a');
    mkdirSync(join(volume, 'a.bin'));
    const result = run([served('a.bin', 'a.bin')], false);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(String(result.stdout), /datamover-named/);
    assert.ok(!existsSync(join(volume, 'a.bin', 'a.bin')), 'moved into the folder');
  });

  it('a list cut short names what it holds, keeps the folder with the rest, and says nothing is named', () => {
    writeFileSync(join(volume, '.in', 'a.bin'), 'a');
    writeFileSync(join(volume, '.in', 'b.bin'), 'b');
    const files = [served('a.bin', 'a.bin'), served('b.bin', 'b.bin')];
    const whole = namingInput(files, false);
    // Cut inside the second file's fields (after its key, name and mode).
    const cut = whole.subarray(0, whole.indexOf('\0b.bin\0b.bin\0') + 'b.bin\0b.bin\0'.length + 5);
    const result = run(files, false, cut);
    assert.notEqual(result.status, 0);
    assert.match(String(result.stderr), /only 1 of 2 files were named/);
    assert.doesNotMatch(String(result.stdout), /datamover-named/);
    assert.equal(readFileSync(join(volume, '.in', 'b.bin'), 'utf8'), 'b');
  });
});

describe('a restore target’s root: what interrupted restores left (the pod’s BusyBox)', () => {
  let volume: string;
  beforeEach(function () {
    if (!busybox()) this.skip(); // npm run setup installs it
    volume = mkdtempSync(join(tmpdir(), 'target-root-'));
  });
  afterEach(() => rmSync(volume, { recursive: true, force: true }));
  const sh = (command: string[]) =>
    spawnSync(busybox()!, command[0] === 'sh' ? command : ['sh', '-c', '"$0" "$@"', ...command], {
      cwd: volume,
      env: busyboxEnv(),
    });
  const look = () => parseTargetRoot(String(sh(['sh', '-c', TARGET_ROOT_CHECK]).stdout));

  it('finds the incoming folders of runs, and whether anything else is there', () => {
    assert.deepEqual(look(), { incomingRuns: [], othersThere: false }, 'an empty volume');
    mkdirSync(join(volume, incomingFolder('a1b2c3'), 'dir'), { recursive: true });
    writeFileSync(join(volume, incomingFolder('a1b2c3'), 'dir', 'part.bin'), 'x');
    mkdirSync(join(volume, incomingFolder('0000ff')));
    assert.deepEqual(look(), { incomingRuns: ['0000ff', 'a1b2c3'], othersThere: false });
    // Not a run's folder: the user's entries, whatever their names look like.
    for (const name of ['.datamover-incoming-user', ' ']) {
      mkdirSync(join(volume, name));
      assert.deepEqual(look(), { incomingRuns: ['0000ff', 'a1b2c3'], othersThere: true }, `a folder "${name}"`);
      rmSync(join(volume, name), { recursive: true });
    }
    writeFileSync(join(volume, incomingFolder('cccccc')), 'a file, not a folder');
    assert.deepEqual(look(), { incomingRuns: ['0000ff', 'a1b2c3'], othersThere: true });
    rmSync(join(volume, incomingFolder('cccccc')));
    symlinkSync(incomingFolder('a1b2c3'), join(volume, incomingFolder('dddddd')));
    assert.deepEqual(look(), { incomingRuns: ['0000ff', 'a1b2c3'], othersThere: true }, 'a link to a folder');
  });

  it('removes the folders of the runs it is given, and nothing else', () => {
    for (const runId of ['a1b2c3', '0000ff'])
      mkdirSync(join(volume, incomingFolder(runId), 'dir'), { recursive: true });
    writeFileSync(join(volume, 'data.txt'), 'x');
    const removed = sh(removeIncomingCommand(['a1b2c3']));
    assert.equal(removed.status, 0, String(removed.stderr));
    assert.deepEqual(readdirSync(volume).sort(), [incomingFolder('0000ff'), 'data.txt']);
  });

  it('a count cut from the output is no answer', () => {
    assert.equal(parseTargetRoot(`${incomingFolder('a1b2c3')}\n`), undefined);
  });
});
