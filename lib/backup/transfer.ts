// Moving the chosen files: a tar stream out of the helper pod over exec,
// unpacked on the fly into staging batches that rclone uploads, then checked
// against the pod-side listing and MD5 sums so that a cut stream can never
// pass for a complete backup.
import type { Readable } from 'node:stream';
import type { KubeConnection } from '../kube/connection.ts';
import { withResumes } from '../stream/resume.ts';
import { receiveTar, StreamCut } from '../stream/tar-out.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { StagingUploader } from '../stream/staging.ts';
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
  podMd5: Map<string, string>;
  rclone: RcloneContext;
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
}

export async function streamAndUpload(request: TransferRequest): Promise<TransferResult> {
  const expectedBytes = request.files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
  const staging = new StagingUploader({
    root: request.stagingDir,
    capBytes: request.stagingCapBytes,
    upload: (dir, onProgress) =>
      runRclone(
        request.rclone,
        ['move', dir, request.target, '--links', '--no-check-dest', '--no-traverse', '--delete-empty-src-dirs'],
        { what: `uploading to ${request.rclone.destination.display}`, onProgress },
      ).then(() => undefined),
  });
  const started = Date.now();
  let note = '';
  // Done is what reached the storage: the progress follows the upload, not only the stream.
  const ticker = setInterval(() => {
    const counts = {
      totalBytes: expectedBytes,
      doneBytes: staging.uploadedBytes + staging.uploadingBytes,
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
    onEntry: (header: import('tar-stream').Header, stream: Readable) => staging.add(header, stream),
    // An upload that failed (UserError) or a local disk error is not resumable; anything else is the stream.
    localFailure: (err: unknown) => (err instanceof UserError ? err : stagingDiskError(err, request.stagingDir)),
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
  try {
    const { resumes } = await withResumes(resumeContext, policy, async () => {
      const remaining = request.files.filter((f) => !staging.received.has(f.path));
      if (remaining.length === 0) return;
      channelBytes += await receiveTar(
        request,
        remaining.map((f) => f.path),
        receiver,
      );
      const missing = remaining.filter((f) => !staging.received.has(f.path)).length;
      if (missing > 0) throw new StreamCut(`it ended ${missing} files early`);
    });
    await staging.finish();
    checkComplete(request, staging.received, staging.receivedBytes, expectedBytes);
    return { files: staging.received.size, bytes: staging.receivedBytes, channelBytes, resumes };
  } finally {
    clearInterval(ticker);
  }
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
  request: TransferRequest,
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
    const expected = request.podMd5.get(file.path);
    const got = received.get(file.path)?.md5;
    if (file.type === 'file' && expected && got !== expected) {
      throw new UserError(
        `"${quoteEscapedBytes(file.path)}" arrived with a different checksum than the pod computed ` +
          '(it changed during the backup, or the stream was corrupted)',
        'run the command again',
      );
    }
  }
}
