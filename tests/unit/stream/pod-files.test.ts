import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MD5_COMMAND,
  MD5_EACH_COMMAND,
  hardLinkTargets,
  LIST_COMMAND,
  nulList,
  parseListing,
  parseMd5Output,
  Md5LineReader,
  type PodFile,
  streamSumOf,
  SUMMED_TAR_COMMAND,
  tarErrorOf,
  unreadableEntries,
  unreadableInListing,
} from '../../../lib/stream/pod-files.ts';
import { pathToBytes } from '../../../lib/format/path-bytes.ts';
import { asNobody, busybox, busyboxEnv } from '../support/busybox.ts';

// Captured from BusyBox 1.35 running LIST_COMMAND in a folder holding a fifo, a symlink to
// a.txt, a 0700 folder of 999:999, a file named "-dash", a file whose name holds a newline,
// and a setuid file a.txt (mode 4755) with a second hard link "hard".
const LISTING = Buffer.from(
  '.\u0000./pipe\u0000./link\u0000./sub\u0000./-dash\u0000./new\nline\u0000./hard\u0000./a.txt\u0000\u0000' +
    '41ed 4096 1767225600 0 0 3 10002436 .\n11a4 0 1767225600 0 0 1 10002483 ./pipe\n' +
    'a1ff 5 1767225600 0 0 1 10002515 ./link\n41c0 4096 1767225600 999 999 2 10002547 ./sub\n' +
    '81a4 1 1767225600 0 0 1 10002578 ./-dash\n81a4 2 1767225600 0 0 1 10002457 ./new\nline\n' +
    '89ed 5 1767225600 0 0 2 10002473 ./hard\n89ed 5 1767225600 0 0 2 10002473 ./a.txt\n',
  'latin1',
);

function byPath(path: string): PodFile {
  const file = parseListing(LISTING).files.find((f) => f.path === path);
  assert.ok(file, `no entry ${path}`);
  return file;
}

describe('pod file listing', () => {
  it('reads every entry, without the "./" prefix, a newline inside a name included', () => {
    assert.deepEqual(
      parseListing(LISTING).files.map((f) => f.path),
      ['pipe', 'link', 'sub', '-dash', 'new\nline', 'hard', 'a.txt'],
    );
  });

  it('keeps the volume root apart', () => {
    assert.deepEqual(parseListing(LISTING).root?.path, '');
    assert.equal(parseListing(LISTING).root?.type, 'dir');
  });

  it('reads the size, the mtime in seconds, the owner, the link count and the inode', () => {
    const file = byPath('a.txt');
    assert.deepEqual(
      { size: file.size, mtime: file.mtime, uid: file.uid, gid: file.gid, nlink: file.nlink, inode: file.inode },
      { size: 5, mtime: 1_767_225_600, uid: 0, gid: 0, nlink: 2, inode: 10002473 },
    );
    assert.deepEqual([byPath('sub').uid, byPath('sub').gid], [999, 999]);
  });

  it('keeps the permission bits, setuid included, without the type bits', () => {
    assert.equal(byPath('a.txt').mode, 0o4755);
    assert.equal(byPath('sub').mode, 0o700);
  });

  it('recognises files, folders and symlinks, and calls a fifo "other"', () => {
    assert.deepEqual(
      ['a.txt', 'sub', 'link', 'pipe'].map((p) => byPath(p).type),
      ['file', 'dir', 'symlink', 'other'],
    );
  });

  it('counts a name whose stat line is missing (gone before stat) as vanished, and reads the rest', () => {
    const cut = Buffer.from('./a\u0000./b\u0000\u000081a4 1 5 0 0 1 7 ./b\n', 'latin1');
    const listing = parseListing(cut);
    assert.deepEqual(
      listing.files.map((f) => f.path),
      ['b'],
    );
    assert.equal(listing.vanished, 1);
  });

  it('does not take a stat line for a name it does not end with: it fails instead', () => {
    const forged = Buffer.from('./a\nb\u0000\u000081a4 1 5 0 0 1 7 ./a\n', 'latin1');
    assert.throws(() => parseListing(forged), /ended inside a list of names/);
  });

  it('reads several batches (xargs splits long lists)', () => {
    const two = Buffer.concat([
      Buffer.from('./a\u0000\u000081a4 1 5 0 0 1 7 ./a\n', 'latin1'),
      Buffer.from('./b\u0000\u000081a4 2 5 0 0 1 8 ./b\n', 'latin1'),
    ]);
    assert.deepEqual(
      parseListing(two).files.map((f) => [f.path, f.size]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
  });

  it('keeps a name that is not UTF-8, each stray byte as an escaped one, next to valid UTF-8', () => {
    const bad = Buffer.concat([
      Buffer.from('./\xff\xfe\u0000\u000081a4 1 5 0 0 1 7 ./\xff\xfe\n', 'latin1'),
      Buffer.from('./caf\xe9/x\u0000\u000081a4 1 5 0 0 1 8 ./caf\xe9/x\n', 'latin1'),
      Buffer.from('./é\u0000\u000081a4 1 5 0 0 1 9 ./é\n', 'utf8'),
    ]);
    const listing = parseListing(bad);
    assert.deepEqual(
      listing.files.map((f) => f.path),
      ['\udcff\udcfe', 'caf\udce9/x', 'é'],
    );
    assert.deepEqual(
      listing.files.map((f) => [...pathToBytes(f.path)]),
      [
        [0xff, 0xfe],
        [0x63, 0x61, 0x66, 0xe9, 0x2f, 0x78],
        [0xc3, 0xa9],
      ],
    );
  });

  it('is complete only when the output ends with the end mark (an exec may report success for less)', () => {
    assert.equal(parseListing(LISTING).complete, false);
    const marked = parseListing(Buffer.concat([LISTING, Buffer.of(0)]));
    assert.equal(marked.complete, true);
    assert.deepEqual(marked.files, parseListing(LISTING).files);
  });

  it('refuses output after the end mark', () => {
    assert.throws(() => parseListing(Buffer.concat([LISTING, Buffer.of(0), LISTING])), /goes on after its end/);
  });

  it("ends BusyBox's listing with the end mark, after a folder it cannot read, keeping find's exit code", function () {
    const shell = busybox();
    if (!shell) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'listing-'));
    try {
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, 'a.txt'), 'a', { mode: 0o644 });
      mkdirSync(join(dir, 'secret'), { mode: 0o700 });
      writeFileSync(join(dir, 'secret', 'b.txt'), 'b');
      const run = (asOwner: boolean) => {
        // Root reads every folder: the unreadable case runs as nobody (or, not as root, without the bits).
        const user = asOwner ? [] : asNobody();
        if (!asOwner && user.length === 0) chmodSync(join(dir, 'secret'), 0);
        const [command, ...args] = [...user, shell, ...LIST_COMMAND];
        const listed = spawnSync(command!, args, { cwd: dir, env: busyboxEnv() });
        chmodSync(join(dir, 'secret'), 0o700);
        return { status: listed.status, listing: parseListing(listed.stdout) };
      };
      const whole = run(true);
      assert.equal(whole.status, 0);
      assert.equal(whole.listing.complete, true);
      assert.deepEqual(whole.listing.files.map((f) => f.path).sort(), ['a.txt', 'secret', 'secret/b.txt']);
      const partial = run(false);
      assert.equal(partial.status, 1);
      assert.equal(partial.listing.complete, true);
      assert.deepEqual(partial.listing.files.map((f) => f.path).sort(), ['a.txt', 'secret']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throws when the output ends inside a list of names', () => {
    assert.throws(() => parseListing(Buffer.from('./a\u0000./b')), /ended inside a list of names/);
  });
});

describe('readability for the helper pod user', () => {
  const entry = (path: string, type: PodFile['type'], mode: number, uid = 0, gid = 0): PodFile => ({
    path,
    type,
    mode,
    uid,
    gid,
    size: 0,
    mtime: 0,
    nlink: 1,
    inode: 1,
  });
  const nobody = { uid: 65534, gid: 65534 };

  it('finds a root-only file and a 0700 folder of another user', () => {
    const files = [entry('key', 'file', 0o600), entry('pg', 'dir', 0o700, 999, 999), entry('ok', 'file', 0o644)];
    assert.deepEqual(
      unreadableEntries(files, nobody).map((f) => f.path),
      ['key', 'pg'],
    );
  });

  it('uses the owner bits for the owner and the group bits for the group', () => {
    const files = [entry('mine', 'file', 0o400, 999, 1), entry('group', 'file', 0o040, 1, 999)];
    assert.deepEqual(unreadableEntries(files, { uid: 999, gid: 999 }), []);
    assert.deepEqual(
      unreadableEntries([entry('others-only', 'file', 0o004, 999, 999)], { uid: 999, gid: 999 }).map((f) => f.path),
      ['others-only'],
    );
  });

  it('needs read and search on a folder, and nothing on a symlink', () => {
    const files = [entry('r-only', 'dir', 0o444), entry('link', 'symlink', 0o777, 999), entry('x', 'dir', 0o755)];
    assert.deepEqual(
      unreadableEntries(files, nobody).map((f) => f.path),
      ['r-only'],
    );
  });

  it('reads everything as root with DAC_OVERRIDE', () => {
    assert.deepEqual(unreadableEntries([entry('key', 'file', 0o000)], { uid: 0, gid: 0, readsAll: true }), []);
  });

  it('checks the volume root too', () => {
    const listing = { files: [], root: entry('', 'dir', 0o700, 999, 999), vanished: 0, complete: true };
    assert.deepEqual(
      unreadableInListing(listing, nobody).map((f) => f.path),
      [''],
    );
  });
});

describe('hard links', () => {
  const file = (path: string, inode: number, nlink: number): PodFile => ({
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 1,
    mtime: 0,
    nlink,
    inode,
  });

  it('maps each further name of an inode to its first name, and leaves single files alone', () => {
    const links = hardLinkTargets([file('a', 7, 3), file('b', 8, 1), file('c', 7, 3), file('d', 7, 3)]);
    assert.deepEqual(
      [...links],
      [
        ['c', 'a'],
        ['d', 'a'],
      ],
    );
  });
});

describe('NUL-separated file lists', () => {
  it('prefixes each path with "./" and ends each with a NUL', () => {
    assert.deepEqual(nulList(['a.txt', 'my dir/b c']), Buffer.from('./a.txt\0./my dir/b c\0'));
  });

  it('encodes names as UTF-8', () => {
    assert.deepEqual(nulList(['é']), Buffer.from([0x2e, 0x2f, 0xc3, 0xa9, 0]));
  });

  it('gives a name that is not UTF-8 its own bytes back', () => {
    assert.deepEqual(nulList(['caf\udce9']), Buffer.from([0x2e, 0x2f, 0x63, 0x61, 0x66, 0xe9, 0]));
  });

  it('is empty for no paths', () => {
    assert.equal(nulList([]).length, 0);
  });
});

describe('md5sum as the transfer runs it', () => {
  /** Whether the first file's sum came out while md5sum still waited to read the second (a fifo). */
  async function firstSumBeforeSecondFile(command: string[]): Promise<boolean> {
    const dir = mkdtempSync(join(tmpdir(), 'md5-each-'));
    try {
      writeFileSync(join(dir, 'a.txt'), 'a');
      spawnSync('mkfifo', [join(dir, 'second')]);
      const [shell, ...args] = [busybox()!, ...command];
      const md5sum = spawn(shell!, args, { cwd: dir, env: busyboxEnv() });
      md5sum.stdin.end('a.txt\0second\0');
      let output = '';
      md5sum.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const ended = new Promise((resolve) => md5sum.on('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const early = output.includes('a.txt');
      await writeFile(join(dir, 'second'), 'b'); // lets md5sum read the fifo and end
      await ended;
      assert.match(output, /a\.txt\n.*second\n$/s);
      return early;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('prints each sum once its file is read (one md5sum for the list holds them to its end)', async function () {
    if (!busybox()) this.skip();
    this.timeout(10000);
    assert.equal(await firstSumBeforeSecondFile(MD5_EACH_COMMAND), true);
    assert.equal(await firstSumBeforeSecondFile(MD5_COMMAND), false);
  });
});

describe('md5sum output', () => {
  // Captured from BusyBox 1.35 md5sum.
  const OUTPUT = Buffer.from(
    [
      '401b30e3b8b5d629635a5c613cdb7919  ./my file  two.txt',
      'b1946ac92492d2347c6235b4d2611184  ./new\nline',
      'd41d8cd98f00b204e9800998ecf8427e  ./a.txt',
      '',
    ].join('\n'),
  );
  const paths = ['my file  two.txt', 'new\nline', 'a.txt'];

  it('maps each path, without "./", to its sum, a newline in a name included', () => {
    const sums = parseMd5Output(OUTPUT, paths);
    assert.equal(sums.get('new\nline'), 'b1946ac92492d2347c6235b4d2611184');
    assert.equal(sums.get('a.txt'), 'd41d8cd98f00b204e9800998ecf8427e');
  });

  it('keeps two spaces inside a name', () => {
    assert.equal(parseMd5Output(OUTPUT, paths).get('my file  two.txt'), '401b30e3b8b5d629635a5c613cdb7919');
  });

  it('leaves out a file md5sum could not read, and reads the next', () => {
    const sums = parseMd5Output(OUTPUT, ['gone', ...paths]);
    assert.deepEqual([...sums.keys()], paths);
  });

  it('gives each sum as soon as its line is whole, whatever the chunks (one byte at a time too)', () => {
    for (const size of [1, 5, 33, 34, 35, 50]) {
      const told: Array<[string, string, number]> = [];
      let pushed = 0;
      const reader = new Md5LineReader(['gone', ...paths, 'missing at the end'], (path, sum) =>
        told.push([path, sum, pushed]),
      );
      for (let at = 0; at < OUTPUT.length; at += size) {
        pushed = Math.min(at + size, OUTPUT.length);
        reader.push(OUTPUT.subarray(at, at + size));
      }
      assert.deepEqual(
        told.map(([path, sum]) => [path, sum]),
        [...parseMd5Output(OUTPUT, paths)],
        `chunks of ${size}`,
      );
      // The first line is 54 bytes long: its sum is told once those have arrived, not at the end.
      assert.ok(told[0]![2] < 54 + size, `chunks of ${size}: told after ${told[0]![2]} bytes`);
    }
  });
});

describe('summed tar stream', () => {
  const SUM = 'd41d8cd98f00b204e9800998ecf8427e';

  it("finds the stream's MD5 on the last line of stderr, after tar's own messages", () => {
    assert.equal(streamSumOf(`tar: ./gone: No such file or directory\n${SUM}  -\n`), SUM);
    assert.equal(
      tarErrorOf(`tar: ./gone: No such file or directory\n${SUM}  -\n`),
      'tar: ./gone: No such file or directory',
    );
  });

  it('has no sum when the stream was cut before md5sum printed it', () => {
    assert.equal(streamSumOf('tar: short write\n'), undefined);
    assert.equal(streamSumOf(''), undefined);
    assert.equal(streamSumOf(`${SUM.slice(0, 20)}`), undefined);
    assert.equal(tarErrorOf('tar: short write\n'), 'tar: short write');
  });

  it("sends the tar stream on stdout and its MD5 on stderr, as a user who may not open the exec's stdout", function () {
    const shell = busybox();
    if (!shell) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'summed-tar-'));
    try {
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, 'a.txt'), 'a\n', { mode: 0o644 });
      writeFileSync(join(dir, 'b.bin'), Buffer.alloc(300_000, 7), { mode: 0o644 });
      // As root, the command runs as nobody: the stdout pipe (node's, root's) may not be opened by name.
      const [command, ...args] = [...asNobody(), shell, ...SUMMED_TAR_COMMAND];
      const result = spawnSyncBuffer(command!, args, dir, nulList(['a.txt', 'b.bin']));
      assert.equal(result.status, 0, result.stderr);
      assert.ok(result.stdout.includes(Buffer.alloc(300_000, 7)), 'the file is not in the stream');
      assert.equal(streamSumOf(result.stderr), createHash('md5').update(result.stdout).digest('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function spawnSyncBuffer(command: string, args: string[], cwd: string, input: Buffer) {
  const result = spawnSync(command, args, { cwd, input, env: busyboxEnv(), maxBuffer: 16 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}
