// How a volume's entries are named at the destination, the way rclone names them so that an rclone
// user sees the same names: control characters as their Unicode pictures (a newline is "␊"), a
// literal picture or "‛" quoted with "‛" (rclone's "standard" encoding), and each byte that is not
// UTF-8 as "‛" and two hex digits (rclone's InvalidUtf8 encoding: the key rclone writes to S3 for such
// a name). Symlinks are stored the way rclone --links stores them: an object "<name>.rclonelink"
// holding the target.
import { isUtf8Path, pathFromBytes, pathToBytes, quoteEscapedBytes } from '../format/path-bytes.ts';

export const LINK_SUFFIX = '.rclonelink';
const QUOTE = '‛';
const DEL_PICTURE = '␡';

export function objectKey(file: { path: string; type: string }): string {
  const key = encodeName(file.path);
  return file.type === 'symlink' ? `${key}${LINK_SUFFIX}` : key;
}

/** The volume path an object key stands for (objectKey's inverse). */
export function pathOfObject(key: string): string {
  return decodeName(key.endsWith(LINK_SUFFIX) ? key.slice(0, -LINK_SUFFIX.length) : key);
}

function isPicture(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code >= 0x2400 && code <= 0x241f) || char === DEL_PICTURE;
}

/** A volume path (bytes that are not UTF-8 escaped, see format/path-bytes.ts) as rclone names it. */
export function encodeName(name: string): string {
  let out = '';
  for (const char of name) {
    const code = char.charCodeAt(0);
    if (code < 0x20) out += String.fromCharCode(0x2400 + code);
    else if (code === 0x7f) out += DEL_PICTURE;
    else if (char === QUOTE || isPicture(char)) out += QUOTE + char;
    else out += char;
  }
  return quoteEscapedBytes(out);
}

const ESCAPED_HEX = /^[0-9A-F]{2}$/;

export function decodeName(encoded: string): string {
  let out = '';
  const chars = [...encoded];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    const hex = char === QUOTE ? `${chars[i + 1] ?? ''}${chars[i + 2] ?? ''}` : '';
    if (ESCAPED_HEX.test(hex)) {
      const byte = parseInt(hex, 16);
      out += String.fromCharCode(byte < 0x80 ? byte : 0xdc00 + byte);
      i += 2;
    } else if (char === QUOTE && i + 1 < chars.length) out += chars[++i];
    else if (char === DEL_PICTURE) out += '\x7f';
    else if (isPicture(char)) out += String.fromCharCode(char.charCodeAt(0) - 0x2400);
    else out += char;
  }
  // "‛C3‛A9" is "é": bytes that form UTF-8 together are that text.
  return isUtf8Path(out) ? out : pathFromBytes(pathToBytes(out));
}
