// A tar stream into the helper pod: one archive over exec stdin into `tar -x`,
// files under a temporary name until the whole batch is in, then renamed.
// Knows nothing of backups: it takes volume paths, modes and mtimes.
import { createReadStream, lstatSync, readFileSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import tar from 'tar-stream';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { captureFromPodOrFail, runInPod, stderrLastLine } from './exec-channel.ts';
import { nulList } from './pod-files.ts';
import { isUtf8Path, pathFromBytes, pathToBytes, quoteEscapedBytes } from '../format/path-bytes.ts';
import { localPath } from '../format/local-file-names.ts';
import { SMALL_FILE_BYTES } from './staging.ts';

/** What is known of an entry besides its bytes: applied as the tar header. */
export interface EntryMeta {
  path: string;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Numeric owner; `tar -x` as root gives it to the file (unless told not to). */
  uid?: number;
  gid?: number;
  /** The MD5 its bytes must have (hex), when it is known: bytes that differ never get the file's name. */
  md5?: string;
}

/** A file whose bytes are not the ones recorded for it: sending it again would not help. */
export class ContentMismatch extends UserError {
  constructor(path: string) {
    super(
      `"${quoteEscapedBytes(path)}" arrived with a different checksum than the backup recorded`,
      'run verify on the backup; if it passes, run the restore again',
    );
  }
}

/**
 * `tar -x` in the pod; `keepOwners`: give entries their uid/gid (only root may), else the pod user's.
 * It prints tar's exit code last (EXTRACT_END): the API server can report an exec as a success when
 * its connection to the kubelet broke, and a tar that stopped inside a file must not pass for one that
 * wrote the whole batch (its files would be committed under their names).
 */
export function extractCommand(keepOwners: boolean): string[] {
  const tar = keepOwners ? 'tar -x -f -' : 'tar -x -o -f -';
  return ['sh', '-c', `${tar}; status=$?; echo "${EXTRACT_END} $status"; exit $status`];
}

const EXTRACT_END = 'datamover-tar-exit';

/** Whether `stdout` ends with extractCommand's end mark for a tar that succeeded. */
export function extractEnded(stdout: string): boolean {
  return stdout.endsWith(`${EXTRACT_END} 0\n`);
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
  command: string[] = extractCommand(false),
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
  let stdout = '';
  const exec = runInPod(kube, {
    namespace,
    pod,
    container: HELPER_CONTAINER,
    command,
    stdin: (pack as unknown as Readable).pipe(coalesced()),
    stdout: new PassThrough().on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-200))),
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
  if (!extractEnded(stdout))
    throw new UserError(
      'the tar stream into the helper pod was cut before tar reported its end',
      'check the API server and the helper pod, then run the command again',
    );
}

/** Bytes gathered into one websocket frame at most (kubectl sends 32 KiB reads). */
const FRAME_BYTES = 64 * 1024;
/** How long a smaller part may wait for more. */
const FRAME_WAIT_MS = 20;

/**
 * tar-stream pushes each header, body and padding as a chunk of its own, and client-node sends each chunk
 * as a websocket frame: thousands of frames of 512 bytes for a batch of small files, each carried by the
 * API server and the runtime. This gathers them into frames of up to FRAME_BYTES.
 */
export function coalesced(): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const take = () => {
    clearTimeout(timer);
    timer = undefined;
    // A chunk of a frame's size on its own (a large file's) goes on as it is, not copied.
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return frame;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= FRAME_BYTES) return done(null, take());
      timer ??= setTimeout(() => this.push(take()), FRAME_WAIT_MS);
      done();
    },
    flush(done) {
      done(null, size ? take() : undefined);
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
}

/** Disk-side failures in the pod: sending again cannot help. */
export function isVolumeFull(err: unknown): boolean {
  return /No space left|Read-only file system|Permission denied/i.test((err as Error).message);
}

// Files arrive under a temporary name and get their own only once their whole
// batch is in: a cut stream never leaves a partial file under a final name.
// The temporary name is the same name in a PART_DIR folder beside the file, so that
// one `mv` per folder renames a whole batch's files of that folder (a process per
// file was most of a restore of many small files).
export const PART_DIR = '.datamover-part';
/** Bytes of arguments given to one `mv`, well within Linux's limits on a command line. */
const MV_ARGS_BYTES = 16 * 1024;

/** `path`'s temporary name: in the PART_DIR folder of its folder, under its own name. */
export function partName(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}${PART_DIR}/${path.slice(slash + 1)}`;
}

/** The commit's input: each folder ("./" prefixed), its files' names, and an empty record; NUL-separated. */
export function commitList(paths: string[]): Buffer {
  const folders = new Map<string, string[]>();
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const folder = slash < 0 ? '.' : `./${path.slice(0, slash)}`;
    const names = folders.get(folder) ?? [];
    if (names.length === 0) folders.set(folder, names);
    names.push(path.slice(slash + 1));
  }
  const NUL = Buffer.of(0);
  return Buffer.concat(
    [...folders].flatMap(([folder, names]) => [
      pathToBytes(folder),
      NUL,
      ...names.flatMap((name) => [pathToBytes(name), NUL]),
      NUL,
    ]),
  );
}

/**
 * Renames the batch's files to their final names in the pod: busybox sh reads commitList's records and
 * runs one `mv -f PARTS... FOLDER/` per folder (per MV_ARGS_BYTES of names), each file an atomic rename,
 * then removes the emptied PART_DIR (one left with other files, from an earlier cut run, stays).
 */
export async function commitPartFiles(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  paths: string[],
  signal: AbortSignal,
): Promise<void> {
  const script = [
    `while IFS= read -r -d '' d; do`,
    '  set --; size=0',
    `  while IFS= read -r -d '' n && [ -n "$n" ]; do`,
    `    set -- "$@" "$d/${PART_DIR}/$n"; size=$((size + \${#d} + \${#n} + 20))`,
    `    if [ "$size" -gt ${MV_ARGS_BYTES} ]; then mv -f -- "$@" "$d/" || exit 1; set --; size=0; fi`,
    '  done',
    '  if [ $# -gt 0 ]; then mv -f -- "$@" "$d/" || exit 1; fi',
    `  rmdir -- "$d/${PART_DIR}" 2>/dev/null || true`,
    'done',
    // The end mark: the API server can report success for an exec it cut short.
    `echo ${COMMIT_END}`,
  ].join('\n');
  const stdout = await captureFromPodOrFail(
    kube,
    {
      namespace,
      pod,
      container: HELPER_CONTAINER,
      command: ['sh', '-c', script],
      stdin: Readable.from([commitList(paths)]),
      signal,
    },
    {
      what: 'moving restored files to their names',
      fix: 'check that the PVC is writable, then run the command again',
    },
  );
  if (!stdout.toString().endsWith(`${COMMIT_END}\n`))
    throw new UserError(
      'moving restored files to their names was cut short in the helper pod',
      'check the API server and the helper pod, then run the command again',
    );
}

const COMMIT_END = 'datamover-committed';

/** Packs the files `paths` (rclone's downloads under `dir`) under their temporary names, with their mode and mtime. */
export async function packFiles(
  pack: tar.Pack,
  dir: string,
  paths: string[],
  meta: (path: string) => EntryMeta | undefined,
): Promise<void> {
  for (const path of paths) {
    const local = localPath(dir, path);
    const stat = lstatSync(local);
    const entry = meta(path);
    const mtime = new Date((entry?.mtime ?? Math.floor(stat.mtimeMs / 1000)) * 1000);
    if (stat.isSymbolicLink()) {
      await packSymlink(pack, path, await readlink(local, { encoding: 'buffer' }), mtime, entry);
      continue;
    }
    const header = await fileHeader(pack, path, stat.size, mtime, entry);
    if (stat.size <= SMALL_FILE_BYTES) {
      // Read at once, synchronously: the thread pool's round trips cost more than the read.
      const data = readFileSync(local);
      checkMd5(path, entry?.md5, createHash('md5').update(data));
      await new Promise<void>((resolve, reject) => pack.entry(header, data, (err) => (err ? reject(err) : resolve())));
      continue;
    }
    await pipeEntry(pack, header, createReadStream(local), path, entry?.md5);
  }
}

/** Packs a symlink to `target` (its bytes, as readlink gives them) under its temporary name. */
export async function packSymlink(
  pack: tar.Pack,
  path: string,
  target: Uint8Array,
  mtime: Date,
  entry: EntryMeta | undefined,
): Promise<void> {
  const header = await withRawNames(pack, {
    name: partName(path),
    type: 'symlink',
    linkname: pathFromBytes(target),
    mtime,
    mode: 0o777,
    ...owner(entry),
  });
  await new Promise<void>((resolve, reject) =>
    pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Packs one file of `size` bytes from `source` (a download as it arrives) under its temporary name.
 * A source that ends short or long fails the entry: tar-stream holds it to the header's size.
 */
export async function packStream(
  pack: tar.Pack,
  path: string,
  size: number,
  entry: EntryMeta,
  source: Readable,
): Promise<void> {
  const header = await fileHeader(pack, path, size, new Date(entry.mtime * 1000), entry);
  await pipeEntry(pack, header, source, path, entry.md5);
}

async function fileHeader(pack: tar.Pack, path: string, size: number, mtime: Date, entry: EntryMeta | undefined) {
  return withRawNames(pack, {
    name: partName(path),
    size,
    mode: entry?.mode ?? 0o644,
    mtime,
    type: 'file',
    ...owner(entry),
  });
}

/** Pipes `source` into the entry; with `md5`, fails with ContentMismatch unless its bytes have that MD5. */
async function pipeEntry(pack: tar.Pack, header: EntryHeader, source: Readable, path: string, md5?: string) {
  const hash = createHash('md5');
  if (md5) source.on('data', (chunk: Buffer) => hash.update(chunk));
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    sink.on('error', reject);
    source.on('error', reject).pipe(sink as unknown as NodeJS.WritableStream);
  });
  checkMd5(path, md5, hash);
}

/** Throws ContentMismatch when `expected` is given and `hash` (of the bytes sent) is not it. */
function checkMd5(path: string, expected: string | undefined, hash: Hash): void {
  if (expected && hash.digest('hex') !== expected) throw new ContentMismatch(path);
}

export async function packDirs(pack: tar.Pack, dirs: EntryMeta[]): Promise<void> {
  for (const dir of dirs) {
    const header = await withRawNames(pack, {
      name: dir.path,
      type: 'directory',
      mode: dir.mode,
      mtime: new Date(dir.mtime * 1000),
      ...owner(dir),
    });
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
}

// tar-stream writes names from strings, as UTF-8. A name (or link target) that is not UTF-8 goes
// into a pax header of its own bytes ("path=", "linkpath="), which tar -x (busybox's too) applies
// to the entry after it; that entry carries an ASCII stand-in.
const STAND_IN = 'datamover-raw-name';
type EntryHeader = Parameters<tar.Pack['entry']>[0];
// tar-stream writes any type it knows the flag of; its typings list only those of entries.
const PAX_HEADER = 'pax-header' as unknown as EntryHeader['type'];

/** `header`, ready for pack.entry: when its names are not UTF-8, after a pax header holding their bytes. */
export async function withRawNames(pack: tar.Pack, header: EntryHeader): Promise<EntryHeader> {
  const { name, linkname } = header;
  if (isUtf8Path(name) && (!linkname || isUtf8Path(linkname))) return header;
  const records = [paxRecord('path', pathToBytes(name))];
  if (linkname) records.push(paxRecord('linkpath', pathToBytes(linkname)));
  const pax = Buffer.concat(records);
  // tar-stream's pack takes a body for files only: the header is a file's until pack encodes it,
  // on its next tick (a unit test holds it to that).
  const paxHeader: EntryHeader = {
    name: 'PaxHeader',
    type: 'file',
    size: pax.length,
    mode: 0o644,
    mtime: header.mtime,
  };
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry(paxHeader, (err) => (err ? reject(err) : resolve()));
    paxHeader.type = PAX_HEADER;
    sink.on('error', reject);
    sink.end(pax);
  });
  return { ...header, name: STAND_IN, ...(linkname ? { linkname: STAND_IN } : {}) };
}

/** One pax record: "LENGTH key=value\n", LENGTH counting the whole record, its own digits too. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function owner(entry: EntryMeta | undefined): { uid?: number; gid?: number } {
  return entry?.uid === undefined ? {} : { uid: entry.uid, gid: entry.gid };
}

/** Links each further name of a hard-linked file to its first name, in the pod (after the files are in). */
export async function linkHardLinks(
  kube: KubeConnection,
  target: { namespace: string; pod: string; signal: AbortSignal },
  links: Array<{ path: string; link: string }>,
): Promise<void> {
  if (!links.length) return;
  const script = `while IFS= read -r -d '' to && IFS= read -r -d '' from; do ln -f -- "$to" "$from" || exit 1; done`;
  await captureFromPodOrFail(
    kube,
    {
      ...target,
      container: HELPER_CONTAINER,
      command: ['sh', '-c', script],
      stdin: Readable.from([nulList(links.flatMap((l) => [l.link, l.path]))]),
    },
    { what: 'linking hard links', fix: 'check that the PVC is writable, then run the command again' },
  );
}
