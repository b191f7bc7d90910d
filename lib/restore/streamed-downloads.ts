// Restore batches that go from the storage into the pod's tar stream as they download, with no local
// disk: one large file from `rclone cat`, or a batch of files from `rclone archive create` (a tar
// stream of the objects, repacked here under their temporary names with the manifest's metadata).
// Staging each small file on local disk cost more CPU than the download itself (create, write, mtime,
// read back, delete), on a machine whose cores the channel and the storage share.
import { Transform, type Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import tar from 'tar-stream';
import { UserError } from '../errors.ts';
import { joinRemote } from '../destination/destination.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import { filesFromList } from '../rclone/listing.ts';
import { ARCHIVE_RCLONE, rcloneAtLeast } from '../rclone/binary.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import type { Backup } from '../store/catalog.ts';
import type { BackupManifest, ManifestEntry } from '../store/manifest.ts';
import { LINK_SUFFIX } from '../store/object-keys.ts';
import { packStream, packSymlink } from '../stream/tar-in.ts';
import type { SelectedFile } from './selection.ts';

/** A download that failed (rclone has retried it): sending again would not help. */
export class StorageFailure extends UserError {}

export interface StreamedFile {
  key: string;
  file: SelectedFile;
  entry: ManifestEntry;
}

/** Where the objects come from, and the backup's listing (its MD5s, when the manifest has none). */
export type DownloadContext = RcloneContext & { backup: Backup };

/**
 * The batch's file, when it is one regular file of at least a batch with its manifest entry (mode, mtime,
 * MD5): it goes from `rclone cat` into the pod as it downloads, without local disk, and the download
 * runs while it is sent instead of before (a link's object holds its target, and only rclone makes it one).
 */
export function streamable(
  batch: string[],
  files: SelectedFile[],
  capBytes: number,
  entries: Map<string, ManifestEntry>,
): StreamedFile | undefined {
  const [key] = batch;
  const [file] = files;
  const entry = file && entries.get(file.path);
  if (batch.length !== 1 || !key || !file || !entry || entry.type !== 'file' || key.endsWith(LINK_SUFFIX)) return;
  return file.size >= capBytes ? { key, file, entry } : undefined;
}

/** `rclone archive create` streams of a batch at once: each fetches its objects one at a time. */
const ARCHIVE_STREAMS = 4;

/** Files per batch at most when batches stream (each stream then has 1,250). */
export const ARCHIVE_BATCH_FILES = 5000;

/** Whether the restore's batches can stream from `rclone archive create` (see archivable). */
export function streamsBatches(rcloneVersion: string, manifest: BackupManifest | undefined): boolean {
  return rcloneAtLeast(rcloneVersion, ARCHIVE_RCLONE) && manifest !== undefined;
}

/**
 * Whether a batch of a restore that streams (streamsBatches) can come from `rclone archive create`: a
 * manifest entry (mode, mtime, MD5) for every file, since the archive's own mtimes are the storage's
 * upload times. Keys holding "‛" (rclone's quote: bytes that are not UTF-8, a literal "‛") are staged
 * instead: the archive holds such names as raw bytes, not as keys.
 */
export function archivable(batch: string[], files: SelectedFile[], entries: Map<string, ManifestEntry>): boolean {
  return (
    batch.every((key) => !key.includes('‛')) &&
    files.every((file, i) => {
      const type = entries.get(file.path)?.type;
      return batch[i]!.endsWith(LINK_SUFFIX) ? type === 'symlink' : type === 'file';
    })
  );
}

/**
 * Packs a streamed file from `rclone cat` as it arrives; its MD5 must be the one the backup recorded
 * (the manifest's, else the listing's), or the batch fails before its files get their names.
 */
export async function packDownload(
  pack: Pack,
  ctx: DownloadContext,
  { key, file, entry }: StreamedFile,
  onArrived: (bytes: number) => void,
): Promise<void> {
  let arrived = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      arrived += chunk.length;
      onArrived(arrived);
      done(null, chunk);
    },
  });
  await withDownload(
    ctx,
    ['cat', joinRemote(ctx.backup.path, key)],
    { what: `downloading "${quoteEscapedBytes(file.source)}" from ${ctx.destination.display}`, stdout: tap },
    () => packStream(pack, file.path, file.size, withRecordedMd5(ctx, key, entry), tap),
  );
}

/**
 * Packs a batch of objects (`batch`: keys of `files`, in the same order) from `rclone archive create` tar
 * streams (ARCHIVE_STREAMS of them, over consecutive parts of the batch: each object's fetch waits on the
 * one before), each file under its PVC path with its manifest entry; a link's object becomes the symlink
 * it holds. Every file's MD5 must be the recorded one, and every object must arrive, else the batch fails.
 */
export async function packArchive(
  pack: Pack,
  ctx: DownloadContext,
  batch: { keys: string[]; files: SelectedFile[]; entries: Map<string, ManifestEntry> },
  onArrived: (bytes: number) => void,
): Promise<void> {
  const wanted = new Map(batch.keys.map((key, i) => [key, batch.files[i]!]));
  const what = `downloading from ${ctx.destination.display}`;
  let arrived = 0;
  // One entry at a time goes into the pack; the other streams wait (rclone, on a full pipe).
  let packing = Promise.resolve();
  const packEntry = async (name: string, size: number, source: Readable) => {
    const file = wanted.get(name);
    if (!file)
      throw new StorageFailure(`${what}: rclone sent "${name}", which was not asked for`, 'run the restore again');
    wanted.delete(name);
    if (size !== file.size)
      throw new StorageFailure(
        `"${quoteEscapedBytes(file.source)}" has ${size} bytes in the storage, not the ${file.size} it was listed with`,
        'it changed during the restore: run the restore again',
      );
    const meta = batch.entries.get(file.path)!;
    if (name.endsWith(LINK_SUFFIX))
      await packSymlink(pack, file.path, await bytesOf(source), new Date(meta.mtime * 1000), meta);
    else await packStream(pack, file.path, file.size, withRecordedMd5(ctx, name, meta), source);
    arrived += size;
    onArrived(arrived);
  };
  const part = Math.ceil(batch.keys.length / ARCHIVE_STREAMS);
  const parts = Array.from({ length: Math.ceil(batch.keys.length / part) }, (_, i) =>
    batch.keys.slice(i * part, (i + 1) * part),
  );
  const args = ['archive', 'create', '--format', 'tar', '--use-server-modtime', '--files-from-raw', '-'];
  // The first stream that fails stops the others: nothing of the batch runs on once it has failed.
  const failed = new AbortController();
  let failure: unknown;
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, failed.signal]) : failed.signal;
  const streams = parts.map((keys) => {
    const extract = tar.extract();
    const call = { what, input: filesFromList(keys), stdout: extract };
    return withDownload({ ...ctx, signal }, [...args, ctx.backup.path], call, async () => {
      for await (const entry of extract) {
        const { name, type, size = 0 } = entry.header;
        if (type === 'directory') {
          entry.resume();
          continue;
        }
        if (type !== 'file')
          throw new StorageFailure(`${what}: rclone sent "${name}" as a ${type}`, 'run the restore again');
        const turn = packing.then(() => packEntry(name, size, entry as unknown as Readable));
        packing = turn.catch(() => undefined);
        await turn;
      }
    }).catch((err: unknown) => {
      failure ??= err;
      failed.abort();
    });
  });
  await Promise.all(streams);
  if (failure !== undefined) throw failure;
  const [missing] = wanted.values();
  if (missing)
    throw new StorageFailure(
      `${what}: "${quoteEscapedBytes(missing.source)}"${wanted.size > 1 ? ` and ${wanted.size - 1} more` : ''} ` +
        'did not arrive',
      'check that the backup is complete (kubectl datamover verify), then run the restore again',
    );
}

/**
 * Runs rclone with its stdout piped into `stdout`, and `consume` (which reads from there) beside it.
 * A consumer that fails stops the download, which would otherwise wait on a pipe no one reads; a
 * download that fails says more than the short stream it left.
 */
async function withDownload(
  ctx: RcloneContext,
  args: string[],
  call: { what: string; input?: Uint8Array; stdout: NodeJS.WritableStream },
  consume: () => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  const download = runRclone({ ...ctx, signal }, args, {
    what: call.what,
    input: call.input,
    onStdout: (stdout) => stdout.pipe(call.stdout),
  });
  const consuming = consume().catch((err: unknown) => {
    stop.abort();
    throw err;
  });
  const [consumed, got] = await Promise.allSettled([consuming, download]);
  // (Unless it was stopped: by the consumer's failure, or by the run's end.)
  const stopped = (got as { reason?: { cause?: { isCanceled?: boolean } } }).reason?.cause?.isCanceled;
  if (got.status === 'rejected' && !stopped) {
    const { message, fix } = got.reason as UserError;
    throw new StorageFailure(message, fix, { cause: got.reason });
  }
  if (consumed.status === 'rejected') throw consumed.reason;
}

/** `entry` with the MD5 its bytes must have: the manifest's, else the backup listing's for `key`. */
function withRecordedMd5(ctx: DownloadContext, key: string, entry: ManifestEntry): ManifestEntry {
  return { ...entry, md5: entry.md5 || ctx.backup.objects.get(key)?.md5 };
}

async function bytesOf(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
