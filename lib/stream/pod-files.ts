// Commands run in the helper pod (busybox, relative to its workingDir) and
// parsers for what they print: the file listing, the tar stream of chosen
// files, and their MD5 sums. Names cross in both directions NUL-separated or
// checked byte for byte against a NUL-separated list, so any name works: a
// newline, a tab, a backslash, a leading dash, 255 bytes, bytes that are not
// UTF-8 (carried in paths as format/path-bytes.ts says).
import { pathFromBytes, pathToBytes } from '../format/path-bytes.ts';

export type PodFileType = 'file' | 'dir' | 'symlink' | 'other';

export interface PodFile {
  /** Path relative to the volume root, without "./" (bytes that are not UTF-8 escaped: pathToBytes). */
  path: string;
  type: PodFileType;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Permission bits, setuid, setgid and sticky included. */
  mode: number;
  uid: number;
  gid: number;
  /** Hard link count, and the inode that links share. */
  nlink: number;
  inode: number;
}

export interface PodListing {
  files: PodFile[];
  /** The volume's root folder itself (path ""). */
  root?: PodFile;
  /** Listed by find, gone before stat (a live volume). */
  vanished: number;
  /** Whether the output ended with the command's end mark: else it was cut, whatever the exec reported. */
  complete: boolean;
}

// For each batch of names xargs makes: the names NUL-separated, an empty name, then a stat line
// per name (`%n` last, so that each line is checked against the name it must end with).
const STAT_BATCH = `printf '%s\\0' "$@" && printf '\\0' && stat -c '%f %s %Y %u %g %h %i %n' -- "$@" || true`;
// pipefail: a folder find cannot read makes the command fail, after listing everything else. Then the
// end mark, a batch without names (xargs -r makes none): an exec can report success for output cut short.
export const LIST_COMMAND = [
  'sh',
  '-c',
  'set -o pipefail; find . -print0 | xargs -0 -r sh -c "$0" sh; status=$?; printf "\\0"; exit $status',
  STAT_BATCH,
];
/** One or more concatenated tar archives (xargs may split a long list); tar-stream reads across them. */
export const TAR_COMMAND = ['sh', '-c', 'xargs -0 -r tar -c -f - --no-recursion'];
/**
 * TAR_COMMAND, and the MD5 of all it wrote as the last line of stderr (STREAM_SUM_LINE): tee hands tar's
 * stream to md5sum as it goes out, so the pod reads each file once and the receiver can check every
 * byte it got against what tar read. tee opens the pipe to md5sum by /dev/fd/4 (the shell made it, as
 * the pod's user) and writes the stream to fd 3, the exec's stdout: that pipe is the runtime's, and a
 * user other than root may not open it by name. pipefail: the exit code stays tar's.
 */
export const SUMMED_TAR_COMMAND = [
  'sh',
  '-c',
  'set -o pipefail; { { xargs -0 -r tar -c -f - --no-recursion | tee /dev/fd/4 >&3; } 4>&1 | md5sum >&2; } 3>&1',
];
const STREAM_SUM_LINE = /^([0-9a-f]{32}) {2}-$/;

/** The stream's MD5 printed by SUMMED_TAR_COMMAND (the last line of its stderr), if it got that far. */
export function streamSumOf(stderr: string): string | undefined {
  return STREAM_SUM_LINE.exec(stderrLines(stderr).pop() ?? '')?.[1];
}

/** The last line of a tar's stderr that is not a summed stream's sum: tar's error, if any. */
export function tarErrorOf(stderr: string): string {
  const lines = stderrLines(stderr).filter((line) => !STREAM_SUM_LINE.test(line));
  return lines.pop()?.slice(0, 200) ?? '';
}

function stderrLines(stderr: string): string[] {
  return stderr.trim().split('\n');
}
export const MD5_COMMAND = ['sh', '-c', 'xargs -0 -r md5sum'];

/**
 * md5sum once per file, so that each sum leaves the pod as soon as its file is read: into a pipe, md5sum's
 * output is block-buffered, and one md5sum for the whole list printed every sum at its end (4 files of
 * 512 MiB: the first sum 3.9 s after the start instead of 1 s).
 */
export const MD5_EACH_COMMAND = ['sh', '-c', 'xargs -0 -r -n 1 md5sum'];

const S_IFMT = 0o170000;
// File types by their S_IFMT bits (octal, as in <sys/stat.h>).
const TYPES = new Map<number, PodFileType>([
  [0o040000, 'dir'],
  [0o100000, 'file'],
  [0o120000, 'symlink'],
]);
const STAT_FIELDS = /^([0-9a-f]+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) /;
const NEWLINE = 0x0a;
const NEWLINE_BYTE = Buffer.of(NEWLINE);

export function parseListing(output: Buffer): PodListing {
  const listing: PodListing = { files: [], vanished: 0, complete: false };
  let pos = 0;
  while (pos < output.length) {
    if (output[pos] === 0) {
      if (pos + 1 !== output.length) throw new Error("the pod's file listing goes on after its end");
      listing.complete = true;
      break;
    }
    const names: Buffer[] = [];
    for (;;) {
      const end = output.indexOf(0, pos);
      if (end < 0) throw new Error("the pod's file listing ended inside a list of names");
      if (end === pos) break;
      names.push(output.subarray(pos, end));
      pos = end + 1;
    }
    pos += 1;
    for (const name of names) {
      const fields = STAT_FIELDS.exec(output.toString('latin1', pos, pos + 120));
      const nameEnd = pos + (fields?.[0].length ?? 0) + name.length;
      if (!fields || !output.subarray(pos + fields[0].length, nameEnd).equals(name) || output[nameEnd] !== NEWLINE) {
        listing.vanished++; // stat printed nothing for it
        continue;
      }
      pos = nameEnd + 1;
      if (name.length === 1 && name[0] === 0x2e) {
        listing.root = statEntry('', fields);
        continue;
      }
      listing.files.push(statEntry(relativePath(name), fields));
    }
  }
  return listing;
}

function statEntry(path: string, fields: RegExpExecArray): PodFile {
  const rawMode = parseInt(fields[1]!, 16);
  return {
    path,
    type: TYPES.get(rawMode & S_IFMT) ?? 'other',
    size: Number(fields[2]),
    mtime: Number(fields[3]),
    mode: rawMode & 0o7777,
    uid: Number(fields[4]),
    gid: Number(fields[5]),
    nlink: Number(fields[6]),
    inode: Number(fields[7]),
  };
}

/** "./a/b" as the path "a/b". */
function relativePath(name: Buffer): string {
  if (name[0] !== 0x2e || name[1] !== 0x2f) throw new Error(`unexpected name in the pod's file listing`);
  return pathFromBytes(name.subarray(2));
}

const DOT_SLASH = Buffer.from('./');
const NUL = Buffer.of(0);

/** "./path\0" for each path, in the bytes the names hold. */
export function nulList(paths: string[]): Buffer {
  return Buffer.concat(paths.flatMap((p) => [DOT_SLASH, pathToBytes(p), NUL]));
}

/** md5sum's lines for `paths`, in their order: each line checked against the name it must end with. */
export function parseMd5Output(output: Buffer, paths: string[]): Map<string, string> {
  const sums = new Map<string, string>();
  const reader = new Md5LineReader(paths, (path, sum) => sums.set(path, sum));
  reader.push(output);
  return sums;
}

const MD5_PREFIX_BYTES = 34; // 32 hex digits and two spaces

/**
 * md5sum's lines for `paths` as they arrive, in chunks: `onSum` is told each path's sum as soon as
 * its whole line is in. A path whose line is not next (md5sum could not read it) gets no sum.
 */
export class Md5LineReader {
  private pending = Buffer.alloc(0);
  private next = 0;
  private readonly paths: string[];
  private readonly onSum: (path: string, sum: string) => void;

  constructor(paths: string[], onSum: (path: string, sum: string) => void) {
    this.paths = paths;
    this.onSum = onSum;
  }

  push(chunk: Buffer): void {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (this.next < this.paths.length) {
      const path = this.paths[this.next]!;
      const line = Buffer.concat([DOT_SLASH, pathToBytes(path), NEWLINE_BYTE]);
      const available = data.subarray(pos, pos + MD5_PREFIX_BYTES + line.length);
      const prefix = available.subarray(0, MD5_PREFIX_BYTES).toString('latin1');
      const matches =
        /^[0-9a-f]*$/.test(prefix.slice(0, 32)) &&
        '  '.startsWith(prefix.slice(32)) &&
        available.subarray(MD5_PREFIX_BYTES).equals(line.subarray(0, Math.max(0, available.length - MD5_PREFIX_BYTES)));
      if (matches && available.length < MD5_PREFIX_BYTES + line.length) break; // the rest of it is still coming
      this.next++;
      if (!matches) continue; // md5sum could not read it
      this.onSum(path, prefix.slice(0, 32));
      pos += available.length;
    }
    this.pending = Buffer.from(data.subarray(pos));
  }
}

/** Who the helper's commands run as, to tell which entries they can read. */
export interface Reader {
  uid: number;
  gid: number;
  /** Root with DAC_OVERRIDE reads everything. */
  readsAll?: boolean;
}

/** Entries `reader` cannot read (files) or list (folders); what is inside such a folder was not listed at all. */
export function unreadableEntries(files: PodFile[], reader: Reader): PodFile[] {
  if (reader.readsAll) return [];
  const may = (file: PodFile, bits: number) => {
    const shift = file.uid === reader.uid ? 6 : file.gid === reader.gid ? 3 : 0;
    return ((file.mode >> shift) & bits) === bits;
  };
  return files.filter((f) => (f.type === 'file' && !may(f, 4)) || (f.type === 'dir' && !may(f, 5)));
}

/** The root first: a volume whose root cannot be listed shows as empty otherwise. */
export function unreadableInListing(listing: PodListing, reader: Reader): PodFile[] {
  return unreadableEntries([...(listing.root ? [listing.root] : []), ...listing.files], reader);
}

/**
 * Hard links: each further name of a file with several links, mapped to the first name of its
 * inode in listing order. Those names are stored once (as the first) and linked again on restore.
 */
export function hardLinkTargets(files: PodFile[]): Map<string, string> {
  const firstByInode = new Map<number, string>();
  const links = new Map<string, string>();
  for (const file of files) {
    if (file.type !== 'file' || file.nlink < 2) continue;
    const first = firstByInode.get(file.inode);
    if (first === undefined) firstByInode.set(file.inode, file.path);
    else links.set(file.path, first);
  }
  return links;
}
