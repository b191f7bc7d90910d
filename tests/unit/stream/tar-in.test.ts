import assert from 'node:assert/strict';
import tar from 'tar-stream';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  coalesced,
  commitList,
  ContentMismatch,
  extractCommand,
  extractEnded,
  packFiles,
  partName,
  paxRecord,
  withRawNames,
} from '../../../lib/stream/tar-in.ts';
import { localPath } from '../../../lib/format/local-file-names.ts';
import { busybox, busyboxEnv } from '../support/busybox.ts';

describe('tar entries for names that are not UTF-8', () => {
  it('counts the whole pax record in its length, its own digits too', () => {
    const record = paxRecord('path', Buffer.from([0x63, 0xe9]));
    assert.deepEqual(record, Buffer.concat([Buffer.from('11 path=c'), Buffer.of(0xe9), Buffer.from('\n')]));
    const long = paxRecord('path', Buffer.alloc(95, 0x61));
    assert.equal(long.length, Number(long.toString('latin1').split(' ')[0]));
  });

  it('puts the raw name and link target in a pax header before an entry with an ASCII stand-in', async () => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    const header = await withRawNames(pack, { name: 'd\udcc3/ln\udcff', type: 'symlink', linkname: 'caf\udce9' });
    assert.equal(header.name, 'datamover-raw-name');
    assert.equal(header.linkname, 'datamover-raw-name');
    const archive = Buffer.concat(chunks);
    assert.equal(String.fromCharCode(archive[156]!), 'x');
    const body = archive.subarray(512, 512 + 48);
    assert.ok(
      body.includes(Buffer.from([0x20, 0x70, 0x61, 0x74, 0x68, 0x3d, 0x64, 0xc3, 0x2f, 0x6c, 0x6e, 0xff, 0x0a])),
    );
    assert.ok(body.includes(Buffer.from([0x3d, 0x63, 0x61, 0x66, 0xe9, 0x0a])));
  });

  it('leaves a UTF-8 name to tar-stream', async () => {
    const header = { name: 'café\nlog', type: 'file' as const };
    assert.equal(await withRawNames(tar.pack(), header), header);
  });

  it('gives a file its own name in a .datamover-part folder beside it, so that a name of 255 bytes still fits', () => {
    assert.equal(partName('a/b/file'), 'a/b/.datamover-part/file');
    assert.equal(partName('top'), '.datamover-part/top');
    assert.equal(partName(`d/${'\udcff'.repeat(255)}`), `d/.datamover-part/${'\udcff'.repeat(255)}`);
  });

  it('lists each folder once, with its names and an empty record, raw bytes kept', () => {
    const list = commitList(['a/x', 'top', 'a/-y\nz', 'caf\udce9/n']);
    const records = list.toString('latin1').split('\0');
    assert.deepEqual(records, ['./a', 'x', '-y\nz', '', '.', 'top', '', './caf\xe9', 'n', '', '']);
  });
});

describe('local file names for rclone', () => {
  it('quotes "‛" as rclone\'s local backend does, and writes other bytes as they are', () => {
    assert.deepEqual(
      localPath('/staging', 'a‛b/caf\udce9'),
      Buffer.concat([Buffer.from('/staging/a‛‛b/caf'), Buffer.of(0xe9)]),
    );
  });
});

describe('packing restored files against their recorded MD5', () => {
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pack-test-'));
    writeFileSync(join(dir, 'small.txt'), 'small\n');
    writeFileSync(join(dir, 'large.bin'), Buffer.alloc(300 * 1024, 7)); // read as a stream
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function packed(paths: string[], sums: Record<string, string>): Promise<string[]> {
    const pack = tar.pack();
    const extract = tar.extract();
    const names: string[] = [];
    extract.on('entry', (header, stream, next) => {
      names.push(header.name);
      stream.on('end', next);
      stream.resume();
    });
    pack.pipe(extract);
    try {
      await packFiles(pack, dir, paths, (path) => ({ path, mode: 0o644, mtime: 1, md5: sums[path] }));
    } finally {
      pack.finalize();
    }
    return names;
  }

  it('packs files whose bytes have their recorded MD5, small and large', async () => {
    const large = createHash('md5')
      .update(Buffer.alloc(300 * 1024, 7))
      .digest('hex');
    const names = await packed(['small.txt', 'large.bin'], { 'small.txt': md5('small\n'), 'large.bin': large });
    assert.deepEqual(names, [partName('small.txt'), partName('large.bin')]);
  });

  it('refuses a small or a large file whose bytes differ, naming it', async () => {
    await assert.rejects(packed(['small.txt'], { 'small.txt': md5('other\n') }), ContentMismatch);
    await assert.rejects(
      packed(['large.bin'], { 'large.bin': md5('other\n') }),
      /"large\.bin" arrived with a different checksum than the backup recorded/,
    );
  });
});

describe('frames into the pod', () => {
  it('gathers small chunks into frames of 64 KiB, and sends the rest at the end, bytes unchanged', async () => {
    const chunks = Array.from({ length: 300 }, (_, i) => Buffer.alloc(512, i));
    const frames: Buffer[] = [];
    const stream = coalesced();
    stream.on('data', (frame: Buffer) => frames.push(frame));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    await ended;
    assert.deepEqual(
      frames.map((f) => f.length),
      [128, 128].map((n) => n * 512).concat([44 * 512]),
    );
    assert.deepEqual(Buffer.concat(frames), Buffer.concat(chunks));
  });

  it('sends a part that waits for more after a short while, without waiting for the end', async () => {
    const stream = coalesced();
    const first = new Promise<Buffer>((resolve) => stream.once('data', resolve));
    stream.write(Buffer.from('header'));
    assert.deepEqual(await first, Buffer.from('header'));
    stream.destroy();
  });
});

describe('tar -x in the pod, with its end mark', () => {
  /** A tar of one 64 KiB file, cut after `keep` bytes when given. */
  async function archive(keep?: number): Promise<Buffer> {
    const pack = tar.pack();
    pack.entry({ name: 'data.bin', size: 65536, mode: 0o644 }, Buffer.alloc(65536, 3));
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
    const whole = Buffer.concat(chunks);
    return keep === undefined ? whole : whole.subarray(0, keep);
  }

  function extract(input: Buffer) {
    const dir = mkdtempSync(join(tmpdir(), 'extract-'));
    try {
      const [command, ...args] = [busybox()!, ...extractCommand(false)];
      const result = spawnSync(command!, args, { cwd: dir, input, env: busyboxEnv() });
      return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  before(function () {
    if (!busybox()) this.skip(); // npm run setup installs it
  });

  it('ends its output with the end mark when tar wrote the whole archive', async () => {
    const result = extract(await archive());
    assert.equal(result.status, 0, result.stderr);
    assert.equal(extractEnded(result.stdout), true);
  });

  it('has no end mark of success when tar stopped inside a file, whatever the exec reports', async () => {
    const result = extract(await archive(512 + 30_000));
    assert.notEqual(result.status, 0);
    assert.equal(extractEnded(result.stdout), false);
  });

  it('has no end mark when its output was cut', () => {
    assert.equal(extractEnded(''), false);
    assert.equal(extractEnded('datamover-tar-exit 1\n'), false);
  });
});
