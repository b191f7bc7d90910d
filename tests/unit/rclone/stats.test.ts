import assert from 'node:assert/strict';
import { parseStatsLine } from '../../../lib/rclone/stats.ts';

describe('rclone stats lines', () => {
  it('reads the bytes moved from the one-line stats of rclone 1.60 and 1.76', () => {
    // As both print them with --stats-one-line --stats-log-level NOTICE.
    assert.equal(
      parseStatsLine('2026/11/27 15:13:53 NOTICE:    99.996 MiB / 300 MiB, 33%, 99.986 MiB/s, ETA 2s'),
      Math.round(99.996 * 1024 ** 2),
    );
    assert.equal(
      parseStatsLine('2026/11/27 15:13:55 NOTICE:    50.152 MiB / 300 MiB, 17%, 0 B/s, ETA -'),
      Math.round(50.152 * 1024 ** 2),
    );
    assert.equal(parseStatsLine('2026/11/27 15:13:55 NOTICE:         0 B / 0 B, -, 0 B/s, ETA -'), 0);
    assert.equal(
      parseStatsLine('2026/11/27 15:13:55 NOTICE:    1.500 GiB / 2 GiB, 75%, 1 GiB/s, ETA 1s'),
      1.5 * 1024 ** 3,
    );
  });

  it('ignores every other line of the log', () => {
    assert.equal(
      parseStatsLine('2026/11/27 15:13:52 NOTICE: Config file "/x/rclone.conf" not found - using defaults'),
      undefined,
    );
    assert.equal(parseStatsLine('2026/11/27 15:13:52 ERROR : a/b: Failed to copy: 3 MiB / 4 MiB, 75%'), undefined);
    assert.equal(parseStatsLine(''), undefined);
  });
});
