// Moving the chosen files: a tar stream out of the helper pod over exec,
// unpacked on the fly into staging batches that rclone uploads (a file larger
// than a batch goes straight into rclone as it arrives), then checked against
// the pod-side listing and the pod's MD5 of what it sent, so that a cut or
// corrupted stream can never pass for a complete backup.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import type { KubeConnection } from '../kube/connection.ts';
import { withResumes } from '../stream/resume.ts';
import { collectDeadBuffers } from '../kube/buffer-collector.ts';
import { receiveTar, StreamCut } from '../stream/tar-out.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { hashPodFiles, PodChecksums } from '../stream/pod-commands.ts';
import { type DirectProgress, SMALL_FILE_BYTES, type StagedBatch, StagingUploader } from '../stream/staging.ts';
import { joinRemote } from '../destination/destination.ts';
import { startStreamUpload } from '../rclone/stream-upload.ts';
import { ARCHIVE_RCLONE, rcloneAtLeast } from '../rclone/binary.ts';
import { UserError } from '../errors.ts';
import { transferFraction, transferLine } from '../progress/transfer-progress.ts';
import type { Report } from '../progress/renderer.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';

export interface TransferRequest {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  files: PodFile[];
  rclone: RcloneContext;
  rcloneVersion: string;
  target: string;
  stagingDir: string;
  stagingCapBytes: number;
  signal: AbortSignal;
  report: Report;
}

export interface TransferResult {
  files: number;
  bytes: number;
  channelBytes: number;
  /** How many times a cut stream was resumed. */
  resumes: number;
  /** The MD5 of each regular file sent, checked against the pod's. */
  md5s: Map<string, string>;
}

/** A transfer under way: the files that go straight into rclone, and the pod's MD5s of them. */
type Transfer = TransferRequest & { summedFirst: Set<string>; checksums: PodChecksums };

export async function streamAndUpload(transferRequest: TransferRequest): Promise<TransferResult> {
  // A file sent straight into rclone needs the pod's MD5 before its upload starts (an S3 object of
  // several parts keeps it as metadata): the pod sums those first, reading them twice. The other
  // files stream in a tar stream the pod sums as it sends it, reading each file once.
  const summedFirst = new Set(
    sendsDirectly(transferRequest)
      ? transferRequest.files
          .filter((f) => f.type === 'file' && f.size >= transferRequest.stagingCapBytes && PLAIN_NAME.test(f.path))
          .map((f) => f.path)
      : [],
  );
  const checksums = new PodChecksums(transferRequest.kube, transferRequest, [...summedFirst]);
  const request: Transfer = { ...transferRequest, summedFirst, checksums };
  const expectedBytes = request.files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
  const staging = new StagingUploader({
    root: request.stagingDir,
    capBytes: request.stagingCapBytes,
    archives: rcloneAtLeast(request.rcloneVersion, ARCHIVE_RCLONE) ? (name) => PLAIN_NAME.test(name) : undefined,
    upload: (batch, onProgress) => uploadBatch(request, batch, onProgress),
    sendDirectly: directSender(request),
  });
  const started = Date.now();
  const stopCollecting = collectDeadBuffers();
  let note = '';
  // Done is what reached the storage: the progress follows the upload, not only the stream.
  const ticker = setInterval(() => {
    const counts = {
      totalBytes: expectedBytes,
      doneBytes: staging.uploadedBytes + staging.uploadingBytes + staging.sendingBytes,
      arrivedBytes: staging.receivedBytes + staging.arrivingBytes,
      files: staging.received.size,
      totalFiles: request.files.length,
      elapsedMs: Date.now() - started,
      doneVerb: 'uploaded',
    };
    request.report(`${transferLine(counts)}${note}`, transferFraction(counts));
  }, 1000);
  let channelBytes = 0;
  const receiver = {
    // An upload that failed (UserError) or a local disk error is not resumable; anything else is the stream.
    localFailure: (err: unknown) => (err instanceof UserError ? err : stagingDiskError(err, request.stagingDir)),
    // Every byte that crossed the channel counts, a cut stream's too.
    onBytes: (bytes: number) => {
      channelBytes += bytes;
    },
  };
  const resumeContext = {
    ...request,
    report: (detail: string) => {
      note = `; ${detail}`;
      request.report(detail);
    },
  };
  const policy = {
    resumable: (err: unknown) => err instanceof StreamCut,
    during: 'during the transfer',
    fix: 'nothing was reported as backed up; check the API server and the helper pod, then run the command again',
    resumesWith: 'from the last complete file',
  };
  // The names a summed stream delivered are checked once its sum matched. A file of a cut one (one that
  // finished after the cut, too) is summed in the pod again at the end.
  const verified = new Set<string>();
  const receive = async (paths: string[], summed: boolean) => {
    const delivered: string[] = [];
    const onEntry = async (header: Header, stream: Readable) => {
      const name = await staging.add(header, stream);
      if (name !== undefined) delivered.push(name);
    };
    await receiveTar(request, paths, { ...receiver, onEntry }, summed);
    if (summed) for (const name of delivered) verified.add(name);
  };
  try {
    const { resumes } = await withResumes(resumeContext, policy, async () => {
      const remaining = request.files.filter((f) => !staging.received.has(f.path)).map((f) => f.path);
      if (remaining.length === 0) return;
      const summedAsSent = remaining.filter((path) => !summedFirst.has(path));
      if (summedAsSent.length) await receive(summedAsSent, true);
      const direct = remaining.filter((path) => summedFirst.has(path));
      if (direct.length) await receive(direct, false);
      const missing = remaining.filter((path) => !staging.received.has(path)).length;
      if (missing > 0) throw new StreamCut(`it ended ${missing} files early`);
    });
    await staging.finish();
    const podMd5 = new Map(await request.checksums.done);
    // A symlink's target came in a tar header, which has a checksum of its own.
    const unchecked: string[] = [];
    for (const [path, { md5 }] of staging.received)
      if (md5 !== undefined && !verified.has(path) && !summedFirst.has(path)) unchecked.push(path);
    const rechecked = await hashPodFiles(request.kube, request, unchecked);
    const unsummed = unchecked.find((path) => !rechecked.has(path));
    if (unsummed)
      throw new UserError(
        `the helper pod gave no checksum of "${quoteEscapedBytes(unsummed)}" to check it against`,
        'nothing was reported as backed up; run the command again',
      );
    for (const [path, sum] of rechecked) podMd5.set(path, sum);
    checkComplete(request, podMd5, staging.received, staging.receivedBytes, expectedBytes);
    const md5s = new Map<string, string>();
    for (const [path, { md5 }] of staging.received) if (md5) md5s.set(path, md5);
    return { files: staging.received.size, bytes: staging.receivedBytes, channelBytes, resumes, md5s };
  } finally {
    clearInterval(ticker);
    stopCollecting();
    request.checksums.stop();
  }
}

/**
 * A staging batch to the storage: its folder moved, and each of its tar files' entries uploaded as
 * objects (`rclone archive extract`, each file read whole, its MD5 checked, its mtime the entry's),
 * side by side.
 */
async function uploadBatch(request: Transfer, batch: StagedBatch, onProgress: (bytes: number) => void) {
  const what = `uploading to ${request.rclone.destination.display}`;
  const moved: number[] = [];
  const progress = (i: number) => (bytes: number) => {
    moved[i] = bytes;
    onProgress(moved.reduce((sum, b) => sum + (b ?? 0), 0));
  };
  // Every file of a tar file is small: read whole (rclone reads whole only what is shorter than the
  // cutoff), it is uploaded with its size and MD5.
  const whole = ['--streaming-upload-cutoff', `${SMALL_FILE_BYTES + 1}B`];
  const uploads = batch.archives.map((archive, i) =>
    runRclone(request.rclone, ['archive', 'extract', archive, request.target, ...whole], {
      what,
      onProgress: progress(i),
    }),
  );
  if (batch.staged) {
    const flags = ['--links', '--no-check-dest', '--no-traverse', '--delete-empty-src-dirs'];
    uploads.push(
      runRclone(request.rclone, ['move', batch.dir, request.target, ...flags], {
        what,
        onProgress: progress(batch.archives.length),
      }),
    );
  }
  await Promise.all(uploads);
}

/** Names that rclone's local and S3 backends both keep as they are: printable ASCII without "\\". */
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]+$/;

// rclone 1.60 lets its own mtime win over an X-Amz-Meta-Mtime upload header; 1.76 applies the header.
// (The releases between are not tested here: they stage large files too.)
const HEADER_METADATA_RCLONE = [1, 76] as const;

/** Large files go straight to an S3 destination, which can take their mtime and MD5 as upload headers. */
function sendsDirectly({ rclone, rcloneVersion }: TransferRequest): boolean {
  return rclone.destination.s3Metadata === true && rcloneAtLeast(rcloneVersion, HEADER_METADATA_RCLONE);
}

function directSender(request: Transfer) {
  if (!sendsDirectly(request)) return undefined;
  // Only the files the pod summed first: one that grew past a batch since the listing is staged.
  return (name: string, header: Header, stream: Readable, progress: DirectProgress) =>
    request.summedFirst.has(name) ? sendDirectly(request, name, header, stream, progress) : undefined;
}

/**
 * One file from the tar stream into `rclone rcat`. Its last chunk is held back until the MD5 of
 * what arrived matches the pod's: rclone cannot complete the upload without it, so a file that
 * arrived different, or cut short, never becomes an object.
 */
async function sendDirectly(
  request: Transfer,
  name: string,
  header: Header,
  stream: Readable,
  progress: DirectProgress,
): Promise<string> {
  // md5sum runs ahead of tar in the pod: the sum is usually known before the file's first byte.
  const expected = await request.checksums.of(name);
  if (expected === undefined)
    throw new UserError(`the helper pod gave no checksum of "${name}"`, 'run the command again');
  const upload = startStreamUpload(request.rclone, joinRemote(request.target, name), {
    size: header.size ?? 0,
    mtime: header.mtime ?? new Date(),
    md5: expected,
    what: `uploading "${name}" to ${request.rclone.destination.display}`,
    onProgress: progress.sent,
  });
  const hash = createHash('md5');
  let arrived = 0;
  let held: Buffer | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      arrived += chunk.length;
      progress.arrived(arrived);
      if (held) await upload.write(held);
      held = chunk;
    }
    const md5 = hash.digest('hex');
    if (expected && md5 !== expected) throw changedInFlight(name);
    if (held) await upload.write(held);
    await upload.finish();
    return md5;
  } catch (err) {
    await upload.abort();
    throw err;
  }
}

function changedInFlight(path: string): UserError {
  return new UserError(
    `"${quoteEscapedBytes(path)}" arrived with a different checksum than the pod computed ` +
      '(it changed during the backup, or the stream was corrupted)',
    'run the command again',
  );
}

/** A file system error writing the staging folder (it has a syscall, unlike a cut stream), as one line. */
function stagingDiskError(err: unknown, stagingDir: string): UserError | undefined {
  const { code, syscall } = (err ?? {}) as NodeJS.ErrnoException;
  if (!code || !syscall) return undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UserError(
      `no space left on device in the local staging folder ${stagingDir}`,
      'free space there, pass --staging-dir on a larger disk, or lower --staging-cap',
      { cause: err },
    );
  }
  if (['EACCES', 'EPERM', 'EROFS'].includes(code))
    return new UserError(
      `cannot write the local staging folder ${stagingDir} (${code})`,
      'pass a writable --staging-dir',
      { cause: err },
    );
  return undefined;
}

function checkComplete(
  request: Transfer,
  podMd5: Map<string, string>,
  received: Map<string, { md5?: string; size: number }>,
  receivedBytes: number,
  expectedBytes: number,
): void {
  const missing = request.files.filter((f) => !received.has(f.path));
  if (missing.length > 0 || receivedBytes !== expectedBytes) {
    const first = missing[0] ? ` (first missing: ${quoteEscapedBytes(missing[0].path)})` : '';
    throw new UserError(
      `the stream from the pod ended early: ${received.size} of ${request.files.length} files, ` +
        `${receivedBytes} of ${expectedBytes} bytes${first}`,
      'nothing was reported as backed up; run the command again',
    );
  }
  for (const file of request.files) {
    const expected = podMd5.get(file.path);
    if (file.type === 'file' && expected && received.get(file.path)?.md5 !== expected) throw changedInFlight(file.path);
  }
}
