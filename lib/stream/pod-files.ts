// Commands run in the helper pod (busybox, relative to its workingDir) and
// parsers for what they print: the file listing, the tar stream of chosen
// files, and their MD5 sums. File lists go in on stdin, NUL-separated, so any
// number of files and any name (but one with a newline) work.

export type PodFileType = 'file' | 'dir' | 'symlink' | 'other';

export interface PodFile {
  /** Path relative to the volume root, without "./". */
  path: string;
  type: PodFileType;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  mode: number;
}

export const LIST_COMMAND = ['sh', '-c', "find . ! -name . -print0 | xargs -0 -r stat -c '%f %s %Y %n'"];
/** One or more concatenated tar archives (xargs may split a long list); tar-stream reads across them. */
export const TAR_COMMAND = ['sh', '-c', 'xargs -0 -r tar -c -f - --no-recursion'];
export const MD5_COMMAND = ['sh', '-c', 'xargs -0 -r md5sum'];

const S_IFMT = 0o170000;
// File types by their S_IFMT bits (octal, as in <sys/stat.h>).
const TYPES = new Map<number, PodFileType>([
  [0o040000, 'dir'],
  [0o100000, 'file'],
  [0o120000, 'symlink'],
]);

export function parseListing(output: string): PodFile[] {
  const files: PodFile[] = [];
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]+) (\d+) (\d+) \.\/(.*)$/.exec(line);
    if (!match) throw new Error(`unexpected line in the pod's file listing: ${JSON.stringify(line.slice(0, 80))}`);
    const rawMode = parseInt(match[1]!, 16);
    files.push({
      path: match[4]!,
      type: TYPES.get(rawMode & S_IFMT) ?? 'other',
      size: Number(match[2]),
      mtime: Number(match[3]),
      mode: rawMode & 0o7777,
    });
  }
  return files;
}

export function nulList(paths: string[]): Buffer {
  return Buffer.from(paths.map((p) => `./${p}\0`).join(''), 'utf8');
}

export function parseMd5Output(output: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^([0-9a-f]{32}) {2}\.\/(.*)$/.exec(line);
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}
