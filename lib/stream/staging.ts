// The hand-off from the tar stream to rclone: entries are unpacked into a
// local batch folder (small files, when the uploader takes them so, into a few
// tar files of the batch instead of a file each); when a batch holds `capBytes` (or BATCH_FILES files) it is
// handed to rclone (upload runs while the next batch fills), and the stream waits while two
// batches are in play. So the laptop never needs more than about two batches
// (or one file larger than a batch) of disk, and a slow upload slows the
// stream instead of filling memory. A file larger than a batch may instead go
// straight to the storage as it arrives (`sendDirectly`), never touching disk.
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, futimesSync, openSync, type WriteStream, writeSync } from 'node:fs';
import { mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header, type Pack } from 'tar-stream';
import { pathToBytes } from '../format/path-bytes.ts';
import { localPath } from '../format/local-file-names.ts';

/** Files up to this size are read and written whole, synchronously (see writeSmallFile). */
export const SMALL_FILE_BYTES = 256 * 1024;
/**
 * Files per batch at most: a tree of small files is uploaded while the stream goes on, instead of
 * arriving whole before the first upload starts (10,000 files of 4 KiB: 20 s to 11 s on the bench).
 */
const BATCH_FILES = 1000;

/** Tar files a batch's small files are spread over, when they go into tar files. */
const ARCHIVES_PER_BATCH = 4;

/** A batch to upload: a folder (`staged`: whether it holds any entry) and tar files of small files. */
export interface StagedBatch {
  dir: string;
  staged: boolean;
  archives: string[];
}

export interface StagingOptions {
  root: string;
  capBytes: number;
  /** Files per batch at most (BATCH_FILES unless told). */
  capFiles?: number;
  /**
   * Small files whose names this accepts go into the batch's tar files instead of a file each (creating
   * thousands of small files is most of the local work); the uploader sends each entry as an object.
   */
  archives?: (name: string) => boolean;
  /** Uploads a batch, telling `onProgress` the bytes moved so far (when it can). */
  upload(batch: StagedBatch, onProgress: (bytes: number) => void): Promise<void>;
  /**
   * Uploads a file of at least `capBytes` as it arrives, giving its MD5, or undefined when it
   * cannot (the file is staged then). `progress` is told the bytes that arrived and that rclone sent.
   */
  sendDirectly?(name: string, header: Header, stream: Readable, progress: DirectProgress): Promise<string> | undefined;
}

export interface DirectProgress {
  arrived(bytes: number): void;
  sent(bytes: number): void;
}

export interface ReceivedFile {
  md5?: string;
  size: number;
}

export class StagingUploader {
  readonly received = new Map<string, ReceivedFile>();
  /** Bytes of the files that arrived whole. */
  receivedBytes = 0;
  /** Bytes of the file arriving now, so far: a large file counts while it streams. */
  arrivingBytes = 0;
  /** Bytes of the batches uploaded. */
  uploadedBytes = 0;
  /** Bytes of the batch uploading now, so far (as rclone reports them). */
  uploadingBytes = 0;
  /** Bytes of the file sent directly now, so far. */
  sendingBytes = 0;
  uploadedBatches = 0;
  private batch = 0;
  private batchDir = '';
  private batchBytes = 0;
  private batchEntries = 0;
  /** Entries written into the batch's folder. */
  private batchStaged = 0;
  private archives: Archive[] = [];
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private readonly dirs = new Set<string>();
  private readonly options: StagingOptions;

  constructor(options: StagingOptions) {
    this.options = options;
  }

  /** Takes one entry of the stream; the name it was received under (undefined for a folder). */
  async add(header: Header, stream: Readable): Promise<string | undefined> {
    this.throwIfFailed();
    if (!this.batchDir) await this.newBatch();
    const name = safeRelative(header.name);
    // Named as rclone's local backend names it, in bytes: any name, even one that is not UTF-8.
    const path = localPath(this.batchDir, name);
    const folder = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
    const size = header.size ?? 0;
    const isFile = header.type === 'file' || header.type === 'contiguous-file';
    const direct = isFile && size >= this.options.capBytes && this.sendDirectly(name, header, stream);
    if (direct) {
      const md5 = await direct.finally(() => {
        this.arrivingBytes = 0;
        this.sendingBytes = 0;
      });
      this.received.set(name, { md5, size });
      this.receivedBytes += size;
      this.uploadedBytes += size;
      return name;
    }
    if (isFile) {
      const hash = createHash('md5');
      this.arrivingBytes = 0;
      if (size <= SMALL_FILE_BYTES) {
        // Small files: one buffer and one write, instead of a stream per file.
        const chunks: Buffer[] = [];
        for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
        const data = Buffer.concat(chunks);
        hash.update(data);
        if (this.options.archives?.(name)) await this.archive(name, data, header.mtime ?? new Date());
        else {
          await this.ensureDir(folder);
          writeSmallFile(path, data, header.mtime ?? new Date());
          this.batchStaged++;
        }
      } else {
        await this.ensureDir(folder);
        this.batchStaged++;
        const tap = new Transform({
          transform: (chunk: Buffer, _enc, done) => {
            hash.update(chunk);
            this.arrivingBytes += chunk.length;
            done(null, chunk);
          },
        });
        try {
          await pipeline(stream, tap, createWriteStream(path, { mode: 0o600, highWaterMark: 1024 * 1024 }));
        } catch (err) {
          // A file cut short must never be uploaded under its name.
          this.arrivingBytes = 0;
          await rm(path, { force: true });
          throw err;
        }
        const mtime = header.mtime ?? new Date();
        await utimes(path, mtime, mtime);
      }
      this.received.set(name, { md5: hash.digest('hex'), size });
      this.batchBytes += size;
      this.receivedBytes += size;
      this.arrivingBytes = 0;
    } else if (header.type === 'symlink') {
      stream.resume();
      await this.ensureDir(folder);
      const target = pathToBytes(header.linkname ?? '');
      await symlink(target, path);
      this.batchStaged++;
      this.received.set(name, { size: target.length });
    } else {
      stream.resume(); // directories and other types carry no data to upload
      return undefined;
    }
    this.batchEntries++;
    if (this.batchBytes >= this.options.capBytes || this.batchEntries >= (this.options.capFiles ?? BATCH_FILES))
      await this.flush();
    return name;
  }

  private sendDirectly(name: string, header: Header, stream: Readable): Promise<string> | undefined {
    return this.options.sendDirectly?.(name, header, stream, {
      arrived: (bytes) => (this.arrivingBytes = bytes),
      sent: (bytes) => (this.sendingBytes = bytes),
    });
  }

  /** Uploads the last batch and waits for every upload. */
  async finish(): Promise<void> {
    if (this.batchEntries > 0) await this.flush();
    await this.inFlight;
    this.throwIfFailed();
  }

  /** Adds a small file to one of the batch's tar files (in turn). */
  private async archive(name: string, data: Buffer, mtime: Date): Promise<void> {
    const index = (this.batchEntries - this.batchStaged) % ARCHIVES_PER_BATCH;
    this.archives[index] ??= openArchive(`${this.batchDir}-${index}.tar`);
    const { pack } = this.archives[index];
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: data.length, mtime, mode: 0o600 }, data, (err) => (err ? reject(err) : resolve())),
    );
  }

  private async flush(): Promise<void> {
    const archives = this.archives;
    for (const { pack } of archives) pack.finalize();
    await Promise.all(archives.map((a) => a.written));
    await this.inFlight; // backpressure: at most one batch uploading while one fills
    this.throwIfFailed();
    const batch = { dir: this.batchDir, staged: this.batchStaged > 0, archives: archives.map((a) => a.path) };
    const bytes = this.batchBytes;
    this.uploadingBytes = 0;
    const onProgress = (moved: number) => {
      this.uploadingBytes = Math.min(bytes, Math.max(this.uploadingBytes, moved));
    };
    this.inFlight = this.options.upload(batch, onProgress).then(
      async () => {
        this.uploadedBatches++;
        this.uploadedBytes += bytes;
        this.uploadingBytes = 0;
        await rm(batch.dir, { recursive: true, force: true });
        await Promise.all(batch.archives.map((path) => rm(path, { force: true })));
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    await this.newBatch();
  }

  /** `folder`, a volume path ("" for the batch's root), in the batch. */
  private async ensureDir(folder: string): Promise<void> {
    if (this.dirs.has(folder)) return;
    await mkdir(folder ? localPath(this.batchDir, folder) : this.batchDir, { recursive: true });
    this.dirs.add(folder);
  }

  private async newBatch(): Promise<void> {
    this.dirs.clear();
    this.batchDir = join(this.options.root, `batch-${this.batch++}`);
    this.batchBytes = 0;
    this.batchEntries = 0;
    this.batchStaged = 0;
    this.archives = [];
    await mkdir(this.batchDir, { recursive: true, mode: 0o700 });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

interface Archive {
  path: string;
  pack: Pack;
  /** Settles once the finalized pack is all on disk. */
  written: Promise<void>;
}

function openArchive(path: string): Archive {
  const pack = tar.pack();
  const out: WriteStream = createWriteStream(path, { mode: 0o600, highWaterMark: 1024 * 1024 });
  const written = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve).on('error', reject);
    pack.on('error', reject);
  });
  written.catch(() => undefined); // heard when the batch is flushed
  pack.pipe(out);
  return { path, pack, written };
}

/**
 * Writes a small file at once, synchronously: for a few KiB, the four round trips through libuv's
 * thread pool (open, write, utimes, close) cost several times the work (10,000 files on the bench
 * machine: 3-5 s, against 0.2-1.6 s).
 */
function writeSmallFile(path: string | Buffer, data: Buffer, mtime: Date): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
    futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
}

/** Tar entry names are the pod's; never let one escape the staging folder. */
export function safeRelative(name: string): string {
  const relative = normalize(name.replace(/^(\.\/)+/, '')).replace(/\/+$/, '');
  if (
    relative === '' ||
    relative === '.' ||
    relative.startsWith(`..${sep}`) ||
    relative === '..' ||
    relative.startsWith(sep)
  ) {
    throw new Error(`refusing tar entry outside the volume: ${JSON.stringify(name)}`);
  }
  return relative;
}
