// The name a file has in a local folder that rclone reads or writes (backup staging, restore
// downloads). rclone's local backend writes a literal "‛" or "␀" quoted with "‛" (and a name that
// is only "．" or "．．"), its "Base" encoding, and opens files by that name: "a‛b" is the file
// "a‛‛b" on disk, and a file named "a‛b" cannot be read at all (rclone 1.60 to 1.76 look for
// "a‛‛b"). Every other byte, those that are not UTF-8 included, is the name's own.
import { pathToBytes } from './path-bytes.ts';

function localSegment(name: string): string {
  if (name === '．') return '‛．';
  if (name === '．．') return '‛．‛．';
  // Escaped: the regex literal was the only non-ASCII in the bundle, which makes V8 hold all its source as
  // two-byte text (esbuild escapes strings, not regexes): 9.4 MB instead of 4.7 MB.
  return name.replace(/[\u201B\u2400]/g, (char) => `‛${char}`);
}

/** `path` (a volume path, see format/path-bytes.ts) below `root`, as the bytes of its local file name. */
export function localPath(root: string, path: string): Buffer {
  const relative = path.split('/').map(localSegment).join('/');
  return Buffer.concat([Buffer.from(root.endsWith('/') ? root : `${root}/`), pathToBytes(relative)]);
}
