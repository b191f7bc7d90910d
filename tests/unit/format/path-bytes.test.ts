import assert from 'node:assert/strict';
import {
  isUtf8Path,
  pathFromBytes,
  pathToBytes,
  quoteEscapedBytes,
  rcloneNameFromBytes,
  rcloneNameToBytes,
} from '../../../lib/format/path-bytes.ts';

const bytes = (...values: number[]) => Buffer.from(values);

describe('names as bytes', () => {
  // Each is a name a file system may hold: UTF-8, stray bytes, truncated and overlong sequences,
  // an encoded surrogate, a code point above U+10FFFF, and the replacement character itself.
  const NAMES: Buffer[] = [
    Buffer.from('report\nfinal.txt'),
    Buffer.from('café ☕ 𝄞'),
    bytes(0x63, 0x61, 0x66, 0xe9),
    bytes(0xff, 0xfe),
    bytes(0xe2, 0x82),
    bytes(0xc0, 0xaf),
    bytes(0xed, 0xa0, 0x80),
    bytes(0xf4, 0x90, 0x80, 0x80),
    bytes(0xef, 0xbf, 0xbd, 0x80),
    Buffer.concat([Buffer.from('𝄞'), bytes(0x80), Buffer.from('‛E9')]),
  ];

  it('carries every name to a string and back, byte for byte', () => {
    for (const name of NAMES) assert.deepEqual(pathToBytes(pathFromBytes(name)), name, name.toString('hex'));
  });

  it('leaves valid UTF-8 as its text, so that paths recorded before stay the same', () => {
    assert.equal(pathFromBytes(Buffer.from('café ☕ 𝄞\ufffd')), 'café ☕ 𝄞\ufffd');
    assert.equal(isUtf8Path('café ☕ 𝄞'), true);
  });

  it('escapes each byte outside a valid sequence on its own, as Go reads them', () => {
    assert.equal(pathFromBytes(bytes(0x61, 0xe2, 0x82, 0x62)), 'a\udce2\udc82b');
    assert.equal(pathFromBytes(bytes(0xed, 0xa0, 0x80)), '\udced\udca0\udc80');
    assert.equal(isUtf8Path('a\udce2b'), false);
  });

  it('shows escaped bytes as rclone does', () => {
    assert.equal(quoteEscapedBytes('caf\udce9'), 'caf‛E9');
    assert.equal(quoteEscapedBytes('café'), 'café');
  });
});

describe("rclone's names as bytes", () => {
  it('reads a name rclone prints with raw bytes as "‛XX", and writes it back raw', () => {
    const printed = Buffer.concat([Buffer.from('dir/caf'), bytes(0xe9), Buffer.from('‛‛x␊')]);
    assert.equal(rcloneNameFromBytes(printed), 'dir/caf‛E9‛‛x␊');
    assert.deepEqual(rcloneNameToBytes('dir/caf‛E9‛‛x␊'), printed);
  });

  it('never takes a quoted "‛" followed by hex digits for a byte', () => {
    assert.deepEqual(rcloneNameToBytes('a‛‛E9'), Buffer.from('a‛‛E9'));
  });
});
