// What is at the destination, reduced to what comparisons need. Names are rclone's as it prints
// them, bytes that are not UTF-8 included (lsjson's JSON would turn those into U+FFFD): read as
// bytes, each such byte as "‛XX" (format/path-bytes.ts).
import { rcloneNameFromBytes, rcloneNameToBytes } from '../format/path-bytes.ts';
import { runRclone, runRcloneForBytes, type RcloneContext } from './run.ts';

export interface RemoteFile {
  size: number;
  /** Modification time, whole seconds since the epoch (rclone keeps the source's mtime in metadata). */
  mtime: number;
}

/** What a listing gives without a request per object: the size, and the MD5 where the store lists it. */
export interface RemoteObject {
  size: number;
  /** Empty when the store lists no MD5 (rclone then reads it from the object's metadata, if it is there). */
  md5: string;
}

/** rclone's --files-from-raw list of `names` (as rcloneNameFromBytes gives them). */
export function filesFromList(names: string[]): Buffer {
  return Buffer.concat(names.flatMap((name) => [rcloneNameToBytes(name), NEWLINE]));
}

const NEWLINE = Buffer.of(0x0a);
// "2006-01-02 15:04:05;SIZE;PATH": the path last, so that nothing in it can shift the other fields.
const LSF_LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d);(-?\d+);/;

/** Every object below `path`, or with `only` just those keys (one lookup each, no full listing). */
export async function listRemoteFiles(
  ctx: RcloneContext,
  path: string,
  only?: string[],
): Promise<Map<string, RemoteFile>> {
  if (only?.length === 0) return new Map();
  const filter = only ? ['--files-from-raw', '-'] : [];
  const args = ['lsf', '-R', '--files-only', '--format', 'tsp', '--separator', ';', ...filter, path];
  // lsf prints times in the local time zone (rclone 1.60 has no --time-format): make that UTC.
  const utc = { ...ctx, extraEnv: { ...ctx.extraEnv, TZ: 'UTC' } };
  const output = await runRcloneForBytes(utc, args, {
    what: `listing ${path}`,
    input: only ? filesFromList(only) : undefined,
  }).catch(emptyWhenMissing);
  return parseLsfListing(output);
}

/**
 * Every object below `path` with its size, and with `md5` its MD5, in one listing: on S3 the ETag
 * is a single-part object's MD5, while its mtime (metadata) would take a HEAD request per object.
 * With `only`, just those keys (one lookup each, no full listing).
 */
export async function listRemoteObjects(
  ctx: RcloneContext,
  path: string,
  md5: boolean,
  only?: string[],
): Promise<Map<string, RemoteObject>> {
  if (only?.length === 0) return new Map();
  const filter = only ? ['--files-from-raw', '-'] : [];
  const args = ['lsf', '-R', '--files-only', '--format', md5 ? 'shp' : 'sp', '--separator', ';', ...filter, path];
  const output = await runRcloneForBytes(ctx, args, {
    what: `listing ${path}`,
    input: only ? filesFromList(only) : undefined,
  }).catch(emptyWhenMissing);
  return parseLsfObjects(output, md5);
}

/** `lsf --format shp` ("SIZE;MD5;PATH", MD5 empty when unknown) or, without `md5`, `--format sp`. */
export function parseLsfObjects(output: Buffer, md5: boolean): Map<string, RemoteObject> {
  const line = md5 ? /^(-?\d+);([0-9a-f]*);/ : /^(-?\d+);/;
  const objects = new Map<string, RemoteObject>();
  forEachLine(output, line, (fields, name) => objects.set(name, { size: Number(fields[1]), md5: fields[2] ?? '' }));
  return objects;
}

/** A target that does not exist yet is an empty one. */
function emptyWhenMissing(err: Error): Buffer {
  if (/bucket does not exist|directory not found/.test(String(err.message))) return Buffer.alloc(0);
  throw err;
}

/** Calls `each` with the fields `line` matched at the start of each line, and the name (rclone's) after them. */
function forEachLine(output: Buffer, line: RegExp, each: (fields: RegExpExecArray, name: string) => void): void {
  let pos = 0;
  while (pos < output.length) {
    let end = output.indexOf(0x0a, pos);
    if (end < 0) end = output.length;
    const fields = line.exec(output.toString('latin1', pos, Math.min(end, pos + 96)));
    if (fields) each(fields, rcloneNameFromBytes(output.subarray(pos + fields[0].length, end)));
    pos = end + 1;
  }
}

export function parseLsfListing(output: Buffer): Map<string, RemoteFile> {
  const files = new Map<string, RemoteFile>();
  forEachLine(output, LSF_LINE, (fields, name) => {
    const mtime = Math.floor(Date.parse(`${fields[1]!.replace(' ', 'T')}Z`) / 1000);
    files.set(name, { size: Number(fields[2]), mtime });
  });
  return files;
}

export async function listRemoteFolders(ctx: RcloneContext, path: string): Promise<string[]> {
  const output = await runRclone(ctx, ['lsf', '--dirs-only', path], { what: `listing ${path}` }).catch(() => '');
  return output
    .split('\n')
    .map((line) => line.replace(/\/$/, ''))
    .filter(Boolean);
}

/** MD5 of each object, from rclone md5sum ("hash  path" lines). */
export async function remoteMd5s(ctx: RcloneContext, path: string): Promise<Map<string, string>> {
  const output = await runRcloneForBytes(ctx, ['md5sum', path], { what: `reading checksums at ${path}` });
  const sums = new Map<string, string>();
  forEachLine(output, /^([0-9a-f]{32}|\s*)\s\s/, (fields, name) => sums.set(name, fields[1]!.trim()));
  return sums;
}
