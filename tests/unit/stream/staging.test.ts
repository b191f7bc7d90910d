import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import tar, { type Header } from 'tar-stream';
import { StagingUploader } from '../../../lib/stream/staging.ts';

const KiB = 1024;

describe('staging progress', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'staging-test-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('counts the bytes of a large file while it streams, and the upload as rclone reports it', async () => {
    let reportUpload: (bytes: number) => void = () => {};
    let endUpload: () => void = () => {};
    const staging = new StagingUploader({
      root,
      capBytes: 512 * KiB,
      upload: (_dir, onProgress) => {
        reportUpload = onProgress;
        return new Promise((resolve) => (endUpload = resolve));
      },
    });
    const stream = new PassThrough();
    const header = { name: 'big.bin', type: 'file', size: 1024 * KiB, mode: 0o644, mtime: new Date() } as Header;
    const added = staging.add(header, stream);
    stream.write(Buffer.alloc(300 * KiB));
    for (const end = Date.now() + 2000; staging.arrivingBytes < 300 * KiB && Date.now() < end; ) await sleep(5);
    assert.equal(staging.arrivingBytes, 300 * KiB);
    assert.equal(staging.receivedBytes, 0);
    stream.end(Buffer.alloc(724 * KiB));
    await added; // the batch is full: its upload starts
    assert.equal(staging.receivedBytes, 1024 * KiB);
    assert.equal(staging.arrivingBytes, 0);

    reportUpload(400 * KiB);
    assert.equal(staging.uploadingBytes, 400 * KiB);
    reportUpload(300 * KiB); // a retry restarting its count never moves the progress back
    assert.equal(staging.uploadingBytes, 400 * KiB);
    reportUpload(5000 * KiB); // nor past the batch
    assert.equal(staging.uploadingBytes, 1024 * KiB);
    endUpload();
    await staging.finish();
    assert.equal(staging.uploadedBytes, 1024 * KiB);
    assert.equal(staging.uploadingBytes, 0);
  });

  it('closes a batch of small files at the file cap, each file whole with its mtime', async () => {
    const batches: Array<Record<string, { data: string; mtime: number }>> = [];
    const staging = new StagingUploader({
      root,
      capBytes: 1024 * KiB,
      capFiles: 2,
      upload: async ({ dir }) => {
        const files = Object.fromEntries(
          readdirSync(dir).map((name) => {
            const path = join(dir, name);
            return [name, { data: readFileSync(path, 'utf8'), mtime: statSync(path).mtimeMs / 1000 }];
          }),
        );
        batches.push(files);
      },
    });
    for (const [name, data] of [
      ['a', 'one'],
      ['b', 'two'],
      ['c', 'three'],
    ]) {
      const header = { name: name!, type: 'file', size: data!.length, mode: 0o644, mtime: new Date(1_000_000_000) };
      const stream = new PassThrough();
      stream.end(data);
      await staging.add(header as Header, stream);
    }
    await staging.finish();
    assert.deepEqual(batches, [
      { a: { data: 'one', mtime: 1_000_000 }, b: { data: 'two', mtime: 1_000_000 } },
      { c: { data: 'three', mtime: 1_000_000 } },
    ]);
    assert.equal(staging.received.size, 3);
    assert.equal(staging.uploadedBytes, 11);
  });

  it('puts small files with accepted names into four tar files in turn, and the others into the folder', async () => {
    const batches: Array<{ staged: string[]; archived: Record<string, { data: string; mtime: number }> }> = [];
    const staging = new StagingUploader({
      root,
      capBytes: 1024 * KiB,
      capFiles: 6,
      archives: (name) => !name.includes(' '),
      upload: async ({ dir, staged, archives }) => {
        const archived: Record<string, { data: string; mtime: number }> = {};
        for (const archive of archives) {
          const extract = tar.extract();
          const done = (async () => {
            for await (const entry of extract) {
              const chunks: Buffer[] = [];
              for await (const chunk of entry) chunks.push(chunk as Buffer);
              archived[entry.header.name] = {
                data: Buffer.concat(chunks).toString(),
                mtime: entry.header.mtime!.getTime() / 1000,
              };
            }
          })();
          extract.end(readFileSync(archive));
          await done;
        }
        batches.push({ staged: staged ? readdirSync(dir).sort() : [], archived });
        assert.equal(archives.length, Math.min(4, Object.keys(archived).length));
      },
    });
    const names = ['a', 'b c', 'd/e', 'f', 'g', 'h', 'i'];
    for (const name of names) {
      const header = { name, type: 'file', size: name.length, mode: 0o644, mtime: new Date(1_000_000_000) };
      const stream = new PassThrough();
      stream.end(name);
      await staging.add(header as Header, stream);
    }
    await staging.finish();
    const file = (name: string) => ({ data: name, mtime: 1_000_000 });
    assert.deepEqual(batches, [
      { staged: ['b c'], archived: { a: file('a'), 'd/e': file('d/e'), f: file('f'), g: file('g'), h: file('h') } },
      { staged: [], archived: { i: file('i') } },
    ]);
    assert.equal(staging.received.size, 7);
    // (The next batch's empty folder is made at once; the run's cleanup removes the staging root.)
    assert.deepEqual(readdirSync(root), ['batch-2'], 'the uploaded batches and their tar files are removed');
  });
});
