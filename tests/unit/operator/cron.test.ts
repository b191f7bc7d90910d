import assert from 'node:assert/strict';
import { CRD_SCHEDULE_PATTERN, nextRun, parseCron, validateSchedule } from '../../../lib/operator/cron.ts';
import { UsageError } from '../../../lib/errors.ts';

const next = (expression: string, after: string) => nextRun(parseCron(expression), new Date(after))?.toISOString();
const refuses = (expression: string, message: RegExp) =>
  assert.throws(
    () => validateSchedule(expression),
    (e: unknown) => e instanceof UsageError && message.test(e.message),
    expression,
  );

// spec.schedule's pattern in the operator's CRD (config/crd/bases/datamover.a-cup-of.coffee_datamoverschedules.yaml).
const CRD =
  '^(\\*|([0-9]|1[0-9]|2[0-9]|3[0-9]|4[0-9]|5[0-9])|\\*\\/([0-9]|1[0-9]|2[0-9]|3[0-9]|4[0-9]|5[0-9])) ' +
  '(\\*|([0-9]|1[0-9]|2[0-3])|\\*\\/([0-9]|1[0-9]|2[0-3])) ' +
  '(\\*|([1-9]|1[0-9]|2[0-9]|3[0-1])|\\*\\/([1-9]|1[0-9]|2[0-9]|3[0-1])) ' +
  '(\\*|([1-9]|1[0-2])|\\*\\/([1-9]|1[0-2])) (\\*|([0-6])|\\*\\/([0-6]))$';

describe('cron', () => {
  it("applies the operator CRD's pattern, verbatim", () => {
    assert.equal(CRD_SCHEDULE_PATTERN, CRD);
  });

  it('accepts what the CRD accepts, with single spaces', () => {
    assert.equal(validateSchedule('*/15 2 * * 0'), '*/15 2 * * 0');
    assert.equal(validateSchedule('  0   2 * *  6 '), '0 2 * * 6');
    assert.equal(validateSchedule('59 23 31 12 */6'), '59 23 31 12 */6');
  });

  it('refuses leading zeros, naming the field', () => {
    refuses('05 * * * *', /the minute field "05" has a leading zero/);
    refuses('*/05 * * * *', /the minute field "\*\/05" has a leading zero/);
    refuses('0 02 * * *', /the hour field "02" has a leading zero/);
    refuses('0 0 01 * *', /the day-of-month field "01"/);
  });

  it('refuses ranges, lists, names and day-of-week 7', () => {
    refuses('0 9-17 * * *', /the hour field "9-17" is a range or a list/);
    refuses('0 6,18 * * *', /the hour field "6,18" is a range or a list/);
    refuses('0 0 * * 1-5', /the day-of-week field "1-5"/);
    refuses('0 3 * * 7', /the day-of-week field "7" is out of range \(0-6\).*7 for Sunday/);
    refuses('0 0 * JAN *', /the month field "JAN" is not valid/);
    refuses('@daily', /has 1 fields, cron needs 5/);
  });

  it('refuses out-of-range values and a step of 0, naming the field', () => {
    refuses('61 * * * *', /minute field "61" is out of range \(0-59\)/);
    refuses('0 25 * * *', /hour field "25" is out of range \(0-23\)/);
    refuses('0 0 0 * *', /day-of-month field "0" is out of range \(1-31\)/);
    refuses('0 0 * 13 *', /month field "13" is out of range/);
    refuses('0 0 * * * *', /has 6 fields/);
    // The CRD lets "*/0" through in the minute, hour and day-of-week fields; robfig/cron cannot parse it.
    refuses('*/0 * * * *', /minute field "\*\/0" has a step of 0/);
    refuses('0 0 */0 * *', /day-of-month field "\*\/0" has a step of 0/);
  });

  it('refuses a date that never comes', () => {
    refuses('0 0 30 2 *', /never fires/);
    refuses('0 0 31 4 *', /never fires/);
    assert.equal(validateSchedule('0 0 29 2 *'), '0 0 29 2 *');
  });

  it('runs "*/15 * * * *" at the next quarter hour', () => {
    assert.equal(next('*/15 * * * *', '2026-03-10T10:07:30Z'), '2026-03-10T10:15:00.000Z');
    assert.equal(next('*/15 * * * *', '2026-03-10T10:45:00Z'), '2026-03-10T11:00:00.000Z');
  });

  it('runs strictly after now: "0 2 * * *" is tomorrow\'s once today\'s 02:00 has come', () => {
    assert.equal(next('0 2 * * *', '2026-03-10T02:00:00Z'), '2026-03-11T02:00:00.000Z');
    assert.equal(next('0 2 * * *', '2026-03-10T01:59:59.900Z'), '2026-03-10T02:00:00.000Z');
  });

  it('handles day-of-week, Sunday being 0', () => {
    // 2026-03-10 is a Tuesday.
    assert.equal(next('0 3 * * 0', '2026-03-10T00:00:00Z'), '2026-03-15T03:00:00.000Z');
  });

  it('matches either day field when both are restricted, as robfig/cron does', () => {
    assert.equal(next('0 0 1 * 1', '2026-03-10T12:00:00Z'), '2026-03-16T00:00:00.000Z');
    assert.equal(next('0 0 */2 * 1', '2026-03-10T12:00:00Z'), '2026-03-11T00:00:00.000Z');
  });

  it('reads "*/1" as "*": with it, both day fields must match', () => {
    // "*/1" keeps robfig's star bit, so day-of-month no longer widens the match: Mondays only.
    assert.equal(next('0 0 */1 * 1', '2026-03-10T12:00:00Z'), '2026-03-16T00:00:00.000Z');
    assert.equal(next('0 0 * * 1', '2026-03-10T12:00:00Z'), '2026-03-16T00:00:00.000Z');
    assert.equal(next('*/1 * * * *', '2026-03-10T12:00:30Z'), '2026-03-10T12:01:00.000Z');
  });

  it('finds 29 February', () => {
    assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  });

  it('finds nothing for a date that never comes', () => {
    assert.equal(next('0 0 31 2 *', '2026-03-01T00:00:00Z'), undefined);
  });
});
