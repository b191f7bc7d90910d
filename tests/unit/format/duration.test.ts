import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../../lib/format/duration.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('parseDuration', () => {
  it('reads Go-style durations', () => {
    assert.equal(parseDuration('30s', '--timeout'), 30_000);
    assert.equal(parseDuration('1h30m', '--timeout'), 5_400_000);
    assert.equal(parseDuration('250ms', '--timeout'), 250);
    assert.equal(parseDuration('2d', '--keep-within'), 172_800_000);
  });

  it('reads a bare number as seconds, like kubectl --request-timeout', () => {
    assert.equal(parseDuration('0', '--request-timeout'), 0);
    assert.equal(parseDuration('5', '--request-timeout'), 5000);
  });

  it('rejects garbage with a usage error naming the flag', () => {
    assert.throws(
      () => parseDuration('5 minutes', '--timeout'),
      (err: unknown) => err instanceof UsageError && /--timeout/.test(err.message),
    );
    assert.throws(() => parseDuration('10x', '--timeout'), UsageError);
  });

  it('formats durations for progress lines', () => {
    assert.equal(formatDuration(450), '450ms');
    assert.equal(formatDuration(61_000), '1m1s');
    assert.equal(formatDuration(3_660_000), '1h1m');
  });
});
