import assert from 'node:assert/strict';
import { checkOperatorAccepts, nextRun, parseCron } from '../../../lib/operator/cron.ts';
import { UsageError } from '../../../lib/errors.ts';

const next = (expression: string, after: string) => nextRun(parseCron(expression), new Date(after))?.toISOString();

describe('cron', () => {
  it('runs "*/15 * * * *" at the next quarter hour', () => {
    assert.equal(next('*/15 * * * *', '2026-03-10T10:07:30Z'), '2026-03-10T10:15:00.000Z');
    assert.equal(next('*/15 * * * *', '2026-03-10T10:45:00Z'), '2026-03-10T11:00:00.000Z');
  });

  it('runs "0 2 * * *" tomorrow once today\'s 02:00 has passed', () => {
    assert.equal(next('0 2 * * *', '2026-03-10T02:00:00Z'), '2026-03-11T02:00:00.000Z');
  });

  it('handles ranges and lists', () => {
    assert.equal(next('30 9-17 * * *', '2026-03-10T17:31:00Z'), '2026-03-11T09:30:00.000Z');
    assert.equal(next('0 6,18 * * *', '2026-03-10T07:00:00Z'), '2026-03-10T18:00:00.000Z');
  });

  it('handles day-of-week, with 7 meaning Sunday', () => {
    // 2026-03-10 is a Tuesday.
    assert.equal(next('0 3 * * 0', '2026-03-10T00:00:00Z'), '2026-03-15T03:00:00.000Z');
    assert.equal(next('0 3 * * 7', '2026-03-10T00:00:00Z'), '2026-03-15T03:00:00.000Z');
    assert.equal(next('0 0 * * 1-5', '2026-03-13T12:00:00Z'), '2026-03-16T00:00:00.000Z');
  });

  it('matches either day field when both are restricted, as cron does', () => {
    assert.equal(next('0 0 1 * 1', '2026-03-10T12:00:00Z'), '2026-03-16T00:00:00.000Z');
  });

  it('finds 29 February', () => {
    assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  });

  it('names the field that is wrong', () => {
    assert.throws(
      () => parseCron('61 * * * *'),
      (e: unknown) => e instanceof UsageError && /minute field "61" is out of range/.test(e.message),
    );
    assert.throws(
      () => parseCron('0 0 * 13 *'),
      (e: unknown) => e instanceof UsageError && /month field "13"/.test(e.message),
    );
    assert.throws(
      () => parseCron('0 0 * * * *'),
      (e: unknown) => e instanceof UsageError && /has 6 fields/.test(e.message),
    );
  });

  it("refuses what the operator's CRD would reject, naming the field", () => {
    assert.doesNotThrow(() => checkOperatorAccepts('*/15 2 * * 0'));
    assert.throws(
      () => checkOperatorAccepts('0 9-17 * * *'),
      (e: unknown) => e instanceof UsageError && /"9-17" in the hour field/.test(e.message),
    );
  });
});
