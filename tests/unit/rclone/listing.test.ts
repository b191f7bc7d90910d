import assert from 'node:assert/strict';
import { filesFromList, parseLsfListing } from '../../../lib/rclone/listing.ts';

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

  it('lists names for --files-from-raw in the bytes rclone reads', () => {
    assert.deepEqual(
      filesFromList(['caf‛E9', 'a b']),
      Buffer.concat([Buffer.from('caf'), Buffer.of(0xe9), Buffer.from('\na b\n')]),
    );
  });
});
