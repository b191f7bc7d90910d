// A file name is bytes; a JavaScript string is UTF-16. Names that are valid UTF-8 (nearly all) are
// carried as their text; a byte that is not part of a valid UTF-8 sequence is carried as the lone
// surrogate U+DC80..U+DCFF (Python's "surrogateescape"), which no valid UTF-8 can decode to. So
// every name maps to one string and back, and manifests written before such names were kept read
// the same. Valid and invalid sequences are told apart exactly as Go (and so rclone) does.
const ESCAPE = 0xdc00;
const QUOTE = '‛';
const ESCAPED_BYTE = /[\udc80-\udcff]/u;

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const cont = (at: number, lo = 0x80, hi = 0xbf) => at < bytes.length && bytes[at]! >= lo && bytes[at]! <= hi;
  if (b >= 0xc2 && b <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const [lo, hi] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const [lo, hi] = b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** Decodes `bytes`, each byte outside a valid sequence given to `invalid`. */
function decode(bytes: Uint8Array, invalid: (byte: number) => string): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (!text.includes('\ufffd')) return text;
  let out = '';
  let start = 0;
  const flush = (end: number) => {
    if (end > start) out += Buffer.from(bytes.subarray(start, end)).toString('utf8');
  };
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    flush(i);
    out += invalid(bytes[i]!);
    start = ++i;
  }
  flush(bytes.length);
  return out;
}

/** A name's bytes as the string that stands for them (lossless: see pathToBytes). */
export function pathFromBytes(bytes: Uint8Array): string {
  return decode(bytes, (byte) => String.fromCharCode(ESCAPE + byte));
}

/** The bytes a string from pathFromBytes stands for. */
export function pathToBytes(path: string): Buffer {
  if (!ESCAPED_BYTE.test(path)) return Buffer.from(path, 'utf8');
  const parts: Buffer[] = [];
  let text = '';
  for (const char of path) {
    const code = char.charCodeAt(0);
    if (char.length === 1 && code >= 0xdc80 && code <= 0xdcff) {
      parts.push(Buffer.from(text, 'utf8'), Buffer.of(code - ESCAPE));
      text = '';
    } else text += char;
  }
  parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}

/** Whether a path from pathFromBytes is valid UTF-8 (it holds no escaped byte). */
export function isUtf8Path(path: string): boolean {
  return !ESCAPED_BYTE.test(path);
}

/** `path` as text that shows every byte that is not UTF-8 the way rclone does, "‛" and two hex digits. */
export function quoteEscapedBytes(path: string): string {
  if (isUtf8Path(path)) return path;
  let out = '';
  for (const char of path) {
    const code = char.charCodeAt(0);
    out += char.length === 1 && code >= 0xdc80 && code <= 0xdcff ? quotedByte(code - ESCAPE) : char;
  }
  return out;
}

function quotedByte(byte: number): string {
  return `${QUOTE}${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * rclone's names as it prints and reads them (its "standard" encoding: a literal "‛" is always
 * quoted as "‛‛") carry bytes that are not UTF-8 raw. Here they are text, each such byte as "‛XX"
 * (rclone's own InvalidUtf8 encoding, as in S3 keys), which a standard name cannot otherwise hold.
 */
export function rcloneNameFromBytes(bytes: Uint8Array): string {
  return decode(bytes, quotedByte);
}

/** rcloneNameFromBytes's inverse: the bytes rclone reads (in --files-from-raw) for that name. */
export function rcloneNameToBytes(name: string): Buffer {
  if (!name.includes(QUOTE)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let text = '';
  for (let i = 0; i < name.length; i++) {
    const char = name[i]!;
    if (char === QUOTE && name[i + 1] === QUOTE) {
      text += QUOTE + QUOTE;
      i++;
    } else if (char === QUOTE && /^[0-9A-F]{2}$/.test(name.slice(i + 1, i + 3))) {
      parts.push(Buffer.from(text, 'utf8'), Buffer.of(parseInt(name.slice(i + 1, i + 3), 16)));
      text = '';
      i += 2;
    } else text += char;
  }
  parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}
