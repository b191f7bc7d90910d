// Moving the chosen files: a tar stream out of the helper pod over exec,
// unpacked on the fly into staging batches that rclone uploads, then checked
// against the pod-side listing and MD5 sums so that a cut stream can never
// pass for a complete backup.
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import tar from 'tar-stream';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { MAX_STREAM_ATTEMPTS, requireHelperPod, resumeDelayMs } from '../stream/resume.ts';
import { runInPod, stderrLastLine } from '../stream/exec-channel.ts';
import { nulList, TAR_COMMAND, type PodFile } from '../stream/pod-files.ts';
import { StagingUploader } from '../stream/staging.ts';
import { UserError } from '../errors.ts';
import { formatBytes } from '../format/size.ts';
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
  report(detail: string): void;
}

export interface TransferResult {
  files: number;
  bytes: number;
  channelBytes: number;
  /** How many times a cut stream was resumed. */
  resumes: number;
}

/** A stream that ended before every file arrived: resumable, unlike an upload failure. */
class StreamCut extends Error {}

export async function streamAndUpload(request: TransferRequest): Promise<TransferResult> {
  const expectedBytes = request.files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
  const staging = new StagingUploader({
    root: request.stagingDir,
    capBytes: request.stagingCapBytes,
    upload: (dir) =>
      runRclone(
        request.rclone,
        ['move', dir, request.target, '--links', '--no-check-dest', '--no-traverse', '--delete-empty-src-dirs'],
        { what: `uploading to ${request.rclone.destination.display}` },
      ).then(() => undefined),
  });
  const started = Date.now();
  let note = '';
  const ticker = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    const rate = staging.receivedBytes / Math.max(seconds, 0.001);
    const eta = rate > 0 ? Math.round((expectedBytes - staging.receivedBytes) / rate) : 0;
    request.report(
      `${staging.received.size}/${request.files.length} files, ${formatBytes(staging.receivedBytes)} of ${formatBytes(expectedBytes)}, ${formatBytes(rate)}/s, ETA ${eta}s${note}`,
    );
  }, 1000);
  let channelBytes = 0;
  let resumes = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      const remaining = request.files.filter((f) => !staging.received.has(f.path));
      if (remaining.length === 0) break;
      try {
        channelBytes += await streamOnce(request, staging, remaining);
      } catch (err) {
        if (!(err instanceof StreamCut) || request.signal.aborted) throw err;
        await requireHelperPod(
          request,
          err,
          'during the transfer',
          'nothing was reported as backed up; run the command again',
        );
        if (attempt >= MAX_STREAM_ATTEMPTS) {
          throw new UserError(
            `the stream from the pod was cut ${attempt} times (${err.message})`,
            'nothing was reported as backed up; check the API server and the helper pod, then run the command again',
            { cause: err },
          );
        }
        resumes++;
        const delay = resumeDelayMs(attempt);
        note = `; the stream was cut (${err.message}), resuming from the last complete file in ${delay / 1000}s (attempt ${attempt + 1}/${MAX_STREAM_ATTEMPTS})`;
        request.report(note.slice(2));
        await sleep(delay, undefined, { signal: request.signal }).catch(() => undefined);
      }
    }
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

/** One tar stream of `files` out of the pod into staging; the bytes it carried. */
async function streamOnce(request: TransferRequest, staging: StagingUploader, files: PodFile[]): Promise<number> {
  const extract = tar.extract();
  // A staging failure must also end the exec: else the pod's tar waits on backpressure for ever.
  const stop = new AbortController();
  let stagingFailure: unknown;
  let extractError: unknown;
  const unpacked = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      // Entries are streamx streams; they are async iterables, which is all staging needs.
      staging.add(header, stream as unknown as Readable).then(
        () => next(),
        (err: unknown) => {
          // An upload that failed (UserError) or a local disk error is not resumable; anything else is the stream.
          if (err instanceof UserError) stagingFailure = err;
          else stagingFailure = stagingDiskError(err, request.stagingDir);
          extract.destroy(err as Error);
          stop.abort();
        },
      );
    });
    extract.on('finish', resolve);
    extract.on('error', (err) => {
      extractError = err;
      stop.abort();
      reject(err);
    });
  });
  unpacked.catch(() => undefined);
  const sink = nodeWritableFor(extract);
  let exec;
  try {
    exec = await runInPod(request.kube, {
      namespace: request.namespace,
      pod: request.pod,
      container: HELPER_CONTAINER,
      command: TAR_COMMAND,
      stdin: Readable.from([nulList(files.map((f) => f.path))]),
      stdout: sink,
      signal: AbortSignal.any([request.signal, stop.signal]),
    });
  } catch (err) {
    extract.destroy();
    if (request.signal.aborted) throw err;
    throw stagingFailure ?? stagingDiskError(extractError, request.stagingDir) ?? new StreamCut((err as Error).message);
  }
  sink.end();
  try {
    await unpacked;
  } catch (err) {
    // The disk error may reach the extractor before add()'s own rejection does.
    const failure = stagingFailure ?? stagingDiskError(err, request.stagingDir);
    if (failure !== undefined) throw failure;
    throw new StreamCut((err as Error).message);
  }
  if (exec.exitCode !== 0)
    throw new StreamCut(`tar in the helper pod exited with code ${exec.exitCode}: ${stderrLastLine(exec)}`);
  const missing = files.filter((f) => !staging.received.has(f.path)).length;
  if (missing > 0) throw new StreamCut(`it ended ${missing} files early`);
  return exec.stdoutBytes;
}

function checkComplete(
  request: TransferRequest,
  received: Map<string, { md5?: string; size: number }>,
  receivedBytes: number,
  expectedBytes: number,
): void {
  const missing = request.files.filter((f) => !received.has(f.path));
  if (missing.length > 0 || receivedBytes !== expectedBytes) {
    throw new UserError(
      `the stream from the pod ended early: ${received.size} of ${request.files.length} files, ${receivedBytes} of ${expectedBytes} bytes${missing[0] ? ` (first missing: ${missing[0].path})` : ''}`,
      'nothing was reported as backed up; run the command again',
    );
  }
  for (const file of request.files) {
    const expected = request.podMd5.get(file.path);
    const got = received.get(file.path)?.md5;
    if (file.type === 'file' && expected && got !== expected) {
      throw new UserError(
        `"${file.path}" arrived with a different checksum than the pod computed (it changed during the backup, or the stream was corrupted)`,
        'run the command again',
      );
    }
  }
}

/**
 * tar-stream is built on streamx; the exec channel needs a Node Writable whose
 * writableNeedDrain it can watch. This one passes tar-stream's backpressure on.
 */
function nodeWritableFor(extract: tar.Extract): Writable {
  return new Writable({
    // Large enough that the websocket is not paused and resumed every few frames.
    highWaterMark: 8 * 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      if (extract.write(chunk)) done();
      else extract.once('drain', () => done());
    },
    final(done) {
      (extract.end as unknown as () => void).call(extract);
      done();
    },
  });
}
