// A tar stream into the helper pod: one archive over exec stdin into `tar -x`,
// files under a temporary name until the whole batch is in, then renamed.
// Knows nothing of backups: it takes volume paths, modes and mtimes.
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import tar from 'tar-stream';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { captureFromPodOrFail, runInPod, stderrLastLine } from './exec-channel.ts';

/** What is known of an entry besides its bytes: applied as the tar header. */
export interface EntryMeta {
  path: string;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/**
 * One tar archive into `tar -x` in the pod, over exec stdin. Each side stops
 * the other: an exec that ends (tar killed, pod gone) stops the filling, which
 * would otherwise wait on backpressure for ever, and a filling that fails ends
 * the exec. Nothing of an attempt runs on once it has returned.
 */
export async function sendTar(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  fill: (pack: tar.Pack) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const pack = tar.pack();
  // Its failures surface through `fillError` and `exec`; the event itself must not go unheard.
  pack.on('error', () => undefined);
  const stop = new AbortController();
  const fillError = fill(pack).then(
    () => {
      pack.finalize();
      return undefined;
    },
    (err: unknown) => {
      pack.destroy(err as Error);
      stop.abort();
      return err;
    },
  );
  // tar-stream's pack is a streamx stream: it has the 'data'/'end' events client-node reads stdin with.
  const exec = runInPod(kube, {
    namespace,
    pod,
    container: HELPER_CONTAINER,
    command: ['tar', '-x', '-f', '-'],
    stdin: pack as unknown as Readable,
    stdout: new PassThrough().resume(),
    signal: AbortSignal.any([signal, stop.signal]),
  });
  let result: Awaited<typeof exec>;
  try {
    result = await exec.finally(() => pack.destroy(new Error('the exec stream ended')));
  } catch (err) {
    throw (await fillError) ?? err;
  }
  const failedFill = await fillError;
  if (result.exitCode !== 0)
    throw new UserError(
      `tar in the helper pod failed while writing into the volume ` +
        `(exit code ${result.exitCode}): ${stderrLastLine(result)}`,
      'check that the PVC has room and is writable, then run the command again',
    );
  if (failedFill) throw failedFill;
}

/** Disk-side failures in the pod: sending again cannot help. */
export function isVolumeFull(err: unknown): boolean {
  return /No space left|Read-only file system|Permission denied/i.test((err as Error).message);
}

// Files arrive under a temporary name and get their own only once their whole
// batch is in: a cut stream never leaves a partial file under a final name.
export const PART_SUFFIX = '.datamover-part';

/** Renames the batch's files to their final names in the pod (one rename each, busybox sh). */
export async function commitPartFiles(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  paths: string[],
  signal: AbortSignal,
): Promise<void> {
  const script = `while IFS= read -r f; do mv -f -- "$f${PART_SUFFIX}" "$f" || exit 1; done`;
  await captureFromPodOrFail(
    kube,
    {
      namespace,
      pod,
      container: HELPER_CONTAINER,
      command: ['sh', '-c', script],
      stdin: Readable.from([`${paths.join('\n')}\n`]),
      signal,
    },
    {
      what: 'moving restored files to their names',
      fix: 'check that the PVC is writable, then run the command again',
    },
  );
}

/** Packs the local files `paths` (under `dir`) under their temporary names, with the mode and mtime known. */
export async function packFiles(
  pack: tar.Pack,
  dir: string,
  paths: string[],
  meta: (path: string) => EntryMeta | undefined,
): Promise<void> {
  for (const path of paths) {
    const local = join(dir, path);
    const stat = await lstat(local);
    const entry = meta(path);
    const mtime = new Date((entry?.mtime ?? Math.floor(stat.mtimeMs / 1000)) * 1000);
    if (stat.isSymbolicLink()) {
      const linkname = await readlink(local);
      await new Promise<void>((resolve, reject) =>
        pack.entry(
          { name: path + PART_SUFFIX, type: 'symlink', linkname, mtime, mode: 0o777 },
          Buffer.alloc(0),
          (err) => (err ? reject(err) : resolve()),
        ),
      );
      continue;
    }
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(
        { name: path + PART_SUFFIX, size: stat.size, mode: entry?.mode ?? 0o644, mtime, type: 'file' },
        (err) => (err ? reject(err) : resolve()),
      );
      sink.on('error', reject);
      createReadStream(local)
        .on('error', reject)
        .pipe(sink as unknown as NodeJS.WritableStream);
    });
  }
}

export async function packDirs(pack: tar.Pack, dirs: EntryMeta[]): Promise<void> {
  for (const dir of dirs) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: dir.path, type: 'directory', mode: dir.mode, mtime: new Date(dir.mtime * 1000) },
        Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
}
