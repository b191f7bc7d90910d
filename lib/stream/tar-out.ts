// A tar stream out of the helper pod over exec, unpacked on the fly: each entry
// is handed to the caller as it arrives, with backpressure all the way to the
// pod's tar. Knows nothing of what the caller does with the files.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { runInPod } from './exec-channel.ts';
import { nulList, streamSumOf, SUMMED_TAR_COMMAND, TAR_COMMAND, tarErrorOf } from './pod-files.ts';
import { pathFromBytes } from '../format/path-bytes.ts';

/** A stream that ended before every file arrived: resumable, unlike a failure on this side. */
export class StreamCut extends Error {}

export interface TarSource {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  signal: AbortSignal;
}

export interface TarReceiver {
  /** Consumes one entry; the next one is read only when this resolves. */
  onEntry(header: tar.Header, stream: Readable): Promise<void>;
  /** Turns a failure on this side (not the stream's) into the error to end with, or undefined. */
  localFailure(err: unknown): Error | undefined;
  /** Told the bytes of each chunk as it arrives (those of a stream that is then cut too). */
  onBytes?(bytes: number): void;
}

/**
 * One tar stream of `paths` out of the pod. `summed`: the pod sums the stream as
 * it sends it (SUMMED_TAR_COMMAND), and every byte that arrived is checked against that sum before this
 * returns; else the receiver checks each file some other way. Throws StreamCut when the stream was cut
 * or tar failed (the files of a summed stream that arrived then are not checked: the caller checks them).
 */
export async function receiveTar(
  source: TarSource,
  paths: string[],
  receiver: TarReceiver,
  summed = false,
): Promise<void> {
  // Names as bytes (latin1 is one char per byte): names that are not UTF-8 come through whole.
  // (tar-stream's own typings leave the option out.)
  const extract = tar.extract({ filenameEncoding: 'latin1' } as Parameters<typeof tar.extract>[0]);
  // A failure on this side must also end the exec: else the pod's tar waits on backpressure for ever.
  const stop = new AbortController();
  let entryFailure: Error | undefined;
  let extractError: unknown;
  const unpacked = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const fail = (err: unknown) => {
        entryFailure = receiver.localFailure(err);
        extract.destroy(err as Error);
        stop.abort();
      };
      // The receiver may await something (a mkdir) before it reads the entry: a stream cut in between
      // must neither go unheard (an uncaught 'error') nor pass for a complete entry.
      let streamError: unknown;
      stream.on('error', (err) => (streamError ??= err));
      // Entries are streamx streams; they are async iterables, which is all a receiver needs.
      receiver
        .onEntry(withPaths(header), stream as unknown as Readable)
        .then(() => (streamError === undefined ? next() : fail(streamError)), fail);
    });
    extract.on('finish', resolve);
    extract.on('error', (err) => {
      extractError = err;
      stop.abort();
      reject(err);
    });
  });
  unpacked.catch(() => undefined);
  const hash = summed ? createHash('md5') : undefined;
  const sink = nodeWritableFor(extract, (chunk) => {
    hash?.update(chunk);
    receiver.onBytes?.(chunk.length);
  });
  let exec: Awaited<ReturnType<typeof runInPod>>;
  try {
    exec = await runInPod(source.kube, {
      namespace: source.namespace,
      pod: source.pod,
      container: HELPER_CONTAINER,
      command: summed ? SUMMED_TAR_COMMAND : TAR_COMMAND,
      stdin: Readable.from([nulList(paths)]),
      stdout: sink,
      signal: AbortSignal.any([source.signal, stop.signal]),
    });
  } catch (err) {
    extract.destroy();
    if (source.signal.aborted) throw err;
    const local = entryFailure ?? (extractError === undefined ? undefined : receiver.localFailure(extractError));
    throw local ?? new StreamCut((err as Error).message);
  }
  sink.end();
  try {
    await unpacked;
  } catch (err) {
    // A local failure may reach the extractor before the receiver's own rejection does.
    throw entryFailure ?? receiver.localFailure(err) ?? new StreamCut((err as Error).message);
  }
  if (exec.exitCode !== 0) {
    const error = tarErrorOf(exec.stderrTail) || 'no message';
    throw new StreamCut(`tar in the helper pod exited with code ${exec.exitCode}: ${error}`);
  }
  // Every write has reached the extractor (and the hash) once it has finished.
  if (hash) checkStreamSum(hash.digest('hex'), exec.stderrTail);
}

/**
 * The stream's bytes against the pod's sum of them. A stream without the sum, or whose bytes differ
 * from it, was cut (the API server can report success for an exec whose output it cut short; and the
 * sum, on stderr, can arrive while stdout is cut): its files are summed in the pod again one by one.
 */
export function checkStreamSum(arrived: string, stderr: string): void {
  const sent = streamSumOf(stderr);
  if (sent === undefined) throw new StreamCut("it ended before the pod's checksum of it");
  if (sent !== arrived) throw new StreamCut('what arrived differs from what the pod sent (cut short)');
}

/** The entry's name and link target as paths (format/path-bytes.ts); a pax header's are already text. */
function withPaths(header: tar.Header): tar.Header {
  const bytesOf = (name: string) => pathFromBytes(Buffer.from(name, 'latin1'));
  const { pax } = header as tar.Header & { pax?: Record<string, string> };
  if (!pax?.path) header.name = bytesOf(header.name);
  if (header.linkname && !pax?.linkpath) header.linkname = bytesOf(header.linkname);
  return header;
}

/**
 * tar-stream is built on streamx; the exec channel needs a Node Writable whose
 * writableNeedDrain it can watch. This one passes tar-stream's backpressure on.
 */
function nodeWritableFor(extract: tar.Extract, tap: (chunk: Buffer) => void): Writable {
  return new Writable({
    // Large enough that the websocket is not paused and resumed every few frames.
    highWaterMark: 8 * 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      tap(chunk);
      if (extract.write(chunk)) done();
      else extract.once('drain', () => done());
    },
    final(done) {
      (extract.end as unknown as () => void).call(extract);
      done();
    },
  });
}
