// What is at the destination: rclone lsjson, reduced to what comparisons need.
import { runRclone, type RcloneContext } from './run.ts';

export interface RemoteFile {
  size: number;
  /** Modification time, whole seconds since the epoch (rclone keeps the source's mtime in metadata). */
  mtime: number;
}

/** Every object below `path`, or with `only` just those keys (one lookup each, no full listing). */
export async function listRemoteFiles(
  ctx: RcloneContext,
  path: string,
  only?: string[],
): Promise<Map<string, RemoteFile>> {
  if (only?.length === 0) return new Map();
  const filter = only ? ['--files-from-raw', '-'] : [];
  const output = await runRclone(ctx, ['lsjson', '-R', '--files-only', '--no-mimetype', ...filter, path], {
    what: `listing ${path}`,
    input: only ? `${only.join('\n')}\n` : undefined,
  }).catch((err) => {
    // A target that does not exist yet is an empty one.
    if (/bucket does not exist|directory not found/.test(String(err.message))) return '[]';
    throw err;
  });
  const files = new Map<string, RemoteFile>();
  for (const item of JSON.parse(output || '[]') as Array<{ Path: string; Size: number; ModTime: string }>) {
    files.set(item.Path, { size: item.Size, mtime: Math.floor(Date.parse(item.ModTime) / 1000) });
  }
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
  const output = await runRclone(ctx, ['md5sum', path], { what: `reading checksums at ${path}` });
  const sums = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^([0-9a-f]{32}|\s*)\s\s(.*)$/.exec(line);
    if (match) sums.set(match[2]!, match[1]!.trim());
  }
  return sums;
}
