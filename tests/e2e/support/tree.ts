// A mixed file tree (what real PVCs hold) and a snapshot of a tree to compare
// two of them: type, mode, size, SHA-256, symlink target, mtime to the second.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

export const BIG_FILE_BYTES = 50 * 1024 * 1024;

export function writeMixedTree(root: string, options: { bigFileBytes?: number } = {}): void {
  mkdirSync(join(root, 'nested', 'deeper', 'deepest'), { recursive: true });
  mkdirSync(join(root, 'empty-dir'), { recursive: true });
  writeFileSync(join(root, 'nested', 'deeper', 'deepest', 'note.txt'), 'deep\n');
  writeFileSync(join(root, 'empty-file'), '');
  writeFileSync(join(root, 'big.bin'), randomBytes(options.bigFileBytes ?? BIG_FILE_BYTES));
  writeFileSync(join(root, 'nested', 'ünïcødé name with spaces.txt'), 'ü and spaces\n');
  writeFileSync(join(root, 'private.key'), 'not really a key\n');
  chmodSync(join(root, 'private.key'), 0o600);
  symlinkSync('nested/deeper', join(root, 'link-to-deeper'));
  const past = new Date('2024-02-29T12:34:56Z');
  utimesSync(join(root, 'nested', 'deeper', 'deepest', 'note.txt'), past, past);
  // Folders with mtimes of their own (set last: adding an entry to a folder changes its mtime).
  utimesSync(join(root, 'empty-dir'), past, past);
  utimesSync(join(root, 'nested', 'deeper'), new Date('2023-01-02T03:04:05Z'), new Date('2023-01-02T03:04:05Z'));
}

export interface Entry {
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  size?: number;
  sha256?: string;
  target?: string;
  mtime?: number;
}

/** `mtimes`: files' mtimes (to the second); `folderMtimes`: folders' too. */
export function snapshot(
  root: string,
  options: { mtimes?: boolean; folderMtimes?: boolean } = {},
): Record<string, Entry> {
  const entries: Record<string, Entry> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const mode = (stat.mode & 0o7777).toString(8);
      const key = relative(root, path);
      if (stat.isSymbolicLink()) entries[key] = { type: 'symlink', mode: 'l', target: readlinkSync(path) };
      else if (stat.isDirectory()) {
        entries[key] = { type: 'dir', mode };
        walk(path);
        if (options.folderMtimes) entries[key]!.mtime = Math.floor(stat.mtimeMs / 1000);
      } else {
        entries[key] = {
          type: 'file',
          mode,
          size: stat.size,
          sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
        };
        if (options.mtimes) entries[key]!.mtime = Math.floor(stat.mtimeMs / 1000);
      }
    }
  };
  walk(root);
  return entries;
}
