// One object uploaded from a stream with `rclone rcat`, without a local copy:
// named, timed and summed as `rclone copy` of the file would make it. rcat
// alone stamps the object with the time of the upload, so the file's mtime
// (and its MD5, which S3 cannot give a multipart object) go in as S3 metadata
// headers, which rclone's s3 backend reads back as the object's own.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { runRclone, type RcloneContext } from './run.ts';

export interface StreamUploadOptions {
  size: number;
  mtime: Date;
  /** The MD5 the bytes must have (hex), when it is known before they are sent. */
  md5?: string;
  what: string;
  onProgress?: (bytes: number) => void;
}

export interface StreamUpload {
  /** Sends a chunk, waiting while rclone is behind. */
  write(chunk: Buffer): Promise<void>;
  /** Ends the input and waits for the object to be complete. */
  finish(): Promise<void>;
  /** Stops rclone before it has every byte: the upload is never completed, so no object is made. */
  abort(): Promise<void>;
}

/** The headers that give the object the file's mtime and MD5 (rclone's own metadata keys). */
export function metadataHeaders(mtime: Date, md5?: string): string[] {
  const headers = ['--header-upload', `X-Amz-Meta-Mtime: ${Math.floor(mtime.getTime() / 1000)}`];
  if (md5) headers.push('--header-upload', `X-Amz-Meta-Md5chksum: ${Buffer.from(md5, 'hex').toString('base64')}`);
  return headers;
}

export function startStreamUpload(ctx: RcloneContext, remotePath: string, options: StreamUploadOptions): StreamUpload {
  const input = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  const args = ['rcat', '--size', String(options.size), ...metadataHeaders(options.mtime, options.md5), remotePath];
  const done = runRclone({ ...ctx, signal }, args, { input, what: options.what, onProgress: options.onProgress });
  done.catch(() => undefined); // heard by write() or finish()
  return {
    async write(chunk) {
      if (!input.write(chunk)) await Promise.race([once(input, 'drain'), done]);
    },
    async finish() {
      input.end();
      await done;
    },
    async abort() {
      stop.abort();
      input.destroy();
      await done.catch(() => undefined);
    },
  };
}
