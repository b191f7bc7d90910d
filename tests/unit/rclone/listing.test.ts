import assert from 'node:assert/strict';
import { filesFromList, parseLsfListing, parseLsfObjects } from '../../../lib/rclone/listing.ts';

describe('destination listings', () => {
  // rclone 1.76 `lsf -R --files-only --format tsp --separator ;` with TZ=UTC: names raw, ";" in a name left alone.
  const OUTPUT = Buffer.concat([
    Buffer.from('2026-11-27 14:39:27;1;caf'),
    Buffer.of(0xe9),
    Buffer.from('\n2024-02-29 12:34:56;65536;pgdata/base/a;b\n2026-11-27 14:39:27;2;nl␊z\n'),
  ]);

  it('reads sizes, UTC times and names, a name that is not UTF-8 as rclone encodes it', () => {
    assert.deepEqual(
      [...parseLsfListing(OUTPUT)],
      [
        ['caf‛E9', { size: 1, mtime: Date.UTC(2026, 10, 27, 14, 39, 27) / 1000 }],
        ['pgdata/base/a;b', { size: 65536, mtime: Date.UTC(2024, 1, 29, 12, 34, 56) / 1000 }],
        ['nl␊z', { size: 2, mtime: Date.UTC(2026, 10, 27, 14, 39, 27) / 1000 }],
      ],
    );
  });

  it('reads sizes, MD5s (empty when unknown) and names from --format shp, names only after the fields', () => {
    const output = Buffer.from('3;0cc175b9c0f1b6a831c399e269772661;a;b\n12;;deadbeef;x\n');
    assert.deepEqual(
      [...parseLsfObjects(output, true)],
      [
        ['a;b', { size: 3, md5: '0cc175b9c0f1b6a831c399e269772661' }],
        ['deadbeef;x', { size: 12, md5: '' }],
      ],
    );
  });

  it('reads a name that looks like a hash as a name from --format sp', () => {
    assert.deepEqual([...parseLsfObjects(Buffer.from('7;cafe;x\n'), false)], [['cafe;x', { size: 7, md5: '' }]]);
  });

  it('lists names for --files-from-raw in the bytes rclone reads', () => {
    assert.deepEqual(
      filesFromList(['caf‛E9', 'a b']),
      Buffer.concat([Buffer.from('caf'), Buffer.of(0xe9), Buffer.from('\na b\n')]),
    );
  });
});
