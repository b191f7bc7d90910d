// The hand-off from the tar stream to rclone: entries are unpacked into a
// local batch folder; when a batch holds `capBytes` it is handed to rclone
// (upload runs while the next batch fills), and the stream waits while two
// batches are in play. So the laptop never needs more than about two batches
// (or one file larger than a batch) of disk, and a slow upload slows the
// stream instead of filling memory.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';

const SMALL_FILE_BYTES = 256 * 1024;

export interface StagingOptions {
  root: string;
  capBytes: number;
  upload(batchDir: string): Promise<void>;
}

export interface ReceivedFile {
  md5?: string;
  size: number;
}

export class StagingUploader {
  readonly received = new Map<string, ReceivedFile>();
  receivedBytes = 0;
  uploadedBatches = 0;
  private batch = 0;
  private batchDir = '';
  private batchBytes = 0;
  private batchEntries = 0;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private readonly dirs = new Set<string>();
  private readonly options: StagingOptions;

  constructor(options: StagingOptions) {
    this.options = options;
  }

  async add(header: Header, stream: Readable): Promise<void> {
    this.throwIfFailed();
    if (!this.batchDir) await this.newBatch();
    const name = safeRelative(header.name);
    const path = join(this.batchDir, name);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      await this.ensureDir(dirname(path));
      const hash = createHash('md5');
      const size = header.size ?? 0;
      if (size <= SMALL_FILE_BYTES) {
        // Small files: one buffer and one write, instead of a stream per file.
        const chunks: Buffer[] = [];
        for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
        const data = Buffer.concat(chunks);
        hash.update(data);
        await writeFile(path, data, { mode: 0o600 });
      } else {
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        });
        try {
          await pipeline(stream, tap, createWriteStream(path, { mode: 0o600, highWaterMark: 1024 * 1024 }));
        } catch (err) {
          // A file cut short must never be uploaded under its name.
          await rm(path, { force: true });
          throw err;
        }
      }
      const mtime = header.mtime ?? new Date();
      await utimes(path, mtime, mtime);
      this.received.set(name, { md5: hash.digest('hex'), size });
      this.batchBytes += header.size ?? 0;
      this.receivedBytes += header.size ?? 0;
    } else if (header.type === 'symlink') {
      stream.resume();
      await this.ensureDir(dirname(path));
      await symlink(header.linkname ?? '', path);
      this.received.set(name, { size: Buffer.byteLength(header.linkname ?? '') });
    } else {
      stream.resume(); // directories and other types carry no data to upload
      return;
    }
    this.batchEntries++;
    if (this.batchBytes >= this.options.capBytes) await this.flush();
  }

  /** Uploads the last batch and waits for every upload. */
  async finish(): Promise<void> {
    if (this.batchEntries > 0) await this.flush();
    await this.inFlight;
    this.throwIfFailed();
  }

  private async flush(): Promise<void> {
    await this.inFlight; // backpressure: at most one batch uploading while one fills
    this.throwIfFailed();
    const dir = this.batchDir;
    this.inFlight = this.options.upload(dir).then(
      async () => {
        this.uploadedBatches++;
        await rm(dir, { recursive: true, force: true });
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    await this.newBatch();
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }

  private async newBatch(): Promise<void> {
    this.dirs.clear();
    this.batchDir = join(this.options.root, `batch-${this.batch++}`);
    this.batchBytes = 0;
    this.batchEntries = 0;
    await mkdir(this.batchDir, { recursive: true, mode: 0o700 });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
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
