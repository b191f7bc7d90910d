// The DataMoverSchedule's cron expression, exactly as the operator takes it:
// its CRD's pattern (each of the five fields "*", a number without a leading
// zero, or "*/n"; no ranges, lists or names; day-of-week 0-6), then its cron
// library's reading of what passes (robfig/cron v3, cron.ParseStandard): "*/1"
// is "*", a step of 0 cannot be parsed, and a date that never comes is never
// run. Errors name the wrong field. Times are UTC, as the operator's image runs.
import { UsageError } from '../errors.ts';

const NUMBER_59 = '([0-9]|1[0-9]|2[0-9]|3[0-9]|4[0-9]|5[0-9])';
const NUMBER_23 = '([0-9]|1[0-9]|2[0-3])';
const NUMBER_31 = '([1-9]|1[0-9]|2[0-9]|3[0-1])';
const NUMBER_12 = '([1-9]|1[0-2])';
const NUMBER_6 = '([0-6])';
const field = (n: string) => `\\*|${n}|\\*\\/${n}`;

const FIELDS = [
  { name: 'minute', min: 0, max: 59, pattern: field(NUMBER_59) },
  { name: 'hour', min: 0, max: 23, pattern: field(NUMBER_23) },
  { name: 'day-of-month', min: 1, max: 31, pattern: field(NUMBER_31) },
  { name: 'month', min: 1, max: 12, pattern: field(NUMBER_12) },
  { name: 'day-of-week', min: 0, max: 6, pattern: field(NUMBER_6) },
] as const;

/** spec.schedule's pattern in the operator's CRD (config/crd/bases/*_datamoverschedules.yaml), verbatim. */
export const CRD_SCHEDULE_PATTERN = `^${FIELDS.map((f) => `(${f.pattern})`).join(' ')}$`;

export interface Cron {
  expression: string;
  minutes: number[];
  hours: number[];
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** robfig/cron's star bit: "*" or "*\/1". When either day field has it, both must match; else either. */
  dayOfMonthStar: boolean;
  dayOfWeekStar: boolean;
}

/**
 * Validates an expression as the operator will take it and returns it with single spaces
 * (what is written to spec.schedule). Throws a UsageError naming the field.
 */
export function validateSchedule(expression: string): string {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new UsageError(
      `--schedule "${expression}" has ${parts.length} fields, cron needs 5`,
      'use "minute hour day-of-month month day-of-week", e.g. "0 2 * * *"',
    );
  }
  for (const [i, part] of parts.entries()) checkField(expression, part, FIELDS[i]!);
  const normalized = parts.join(' ');
  // The fields each match, so the whole does: kept as the CRD's own check.
  if (!new RegExp(CRD_SCHEDULE_PATTERN).test(normalized))
    throw new UsageError(`--schedule "${expression}" does not match the operator's CRD pattern`, 'fix the expression');
  const cron = parseCron(normalized);
  if (!nextRun(cron, new Date())) {
    throw new UsageError(
      `--schedule "${expression}" never fires: no date has that day-of-month in that month`,
      "fix the day-of-month or month field (the operator's cron library looks 5 years ahead)",
    );
  }
  return normalized;
}

function checkField(expression: string, part: string, f: (typeof FIELDS)[number]): void {
  const fail = (why: string, fix: string): never => {
    throw new UsageError(`--schedule "${expression}": the ${f.name} field "${part}" ${why}`, fix);
  };
  const range = `${f.min}-${f.max}`;
  const accepted = `the operator accepts *, a number (${range}) or */n in each field`;
  if (new RegExp(`^(${f.pattern})$`).test(part)) {
    if (/^\*\/0$/.test(part))
      fail(
        "has a step of 0: the operator's CRD lets it through but its cron library cannot parse it",
        'use a step of 1 or more',
      );
    return;
  }
  const number = /^(\*\/)?(\d+)$/.exec(part);
  if (number) {
    const digits = number[2]!;
    const value = Number(digits);
    if (digits.length > 1 && digits.startsWith('0') && value >= f.min && value <= f.max)
      fail("has a leading zero, which the operator's CRD refuses", `write "${number[1] ?? ''}${value}"`);
    if (f.name === 'day-of-week' && value === 7)
      fail('is out of range (0-6): the operator does not take 7 for Sunday', 'write 0 for Sunday');
    if (number[1] && value === 0) fail('has a step of 0', 'use a step of 1 or more');
    fail(`is out of range (${range})`, `use a value from ${f.min} to ${f.max}`);
  }
  if (/[-,]/.test(part))
    fail("is a range or a list, which the operator's CRD refuses", `${accepted}; or make several schedules`);
  fail('is not valid', accepted);
}

/** Reads an expression that matches the CRD's pattern, as robfig/cron's standard parser does. */
export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new UsageError(`cron "${expression}" has ${parts.length} fields`, 'use 5 fields');
  const read = (part: string, i: number) => {
    const f = FIELDS[i]!;
    if (!new RegExp(`^(${f.pattern})$`).test(part))
      throw new UsageError(`cron "${expression}": the ${f.name} field "${part}" is not valid`, 'fix the expression');
    const step = part.startsWith('*/') ? Number(part.slice(2)) : part === '*' ? 1 : 0;
    if (part.startsWith('*/') && step === 0)
      throw new UsageError(`cron "${expression}": the ${f.name} field "${part}" has a step of 0`, 'fix it');
    const values: number[] = [];
    if (step === 0) values.push(Number(part));
    else for (let v = f.min; v <= f.max; v += step) values.push(v);
    // robfig keeps the star bit for "*" and for a step of 1 ("*/1" is "*").
    return { values, star: step === 1 };
  };
  const fields = parts.map(read);
  return {
    expression,
    minutes: fields[0]!.values,
    hours: fields[1]!.values,
    days: new Set(fields[2]!.values),
    months: new Set(fields[3]!.values),
    weekdays: new Set(fields[4]!.values),
    dayOfMonthStar: fields[2]!.star,
    dayOfWeekStar: fields[4]!.star,
  };
}

function dayMatches(cron: Cron, day: Date): boolean {
  const dom = cron.days.has(day.getUTCDate());
  const dow = cron.weekdays.has(day.getUTCDay());
  return cron.dayOfMonthStar || cron.dayOfWeekStar ? dom && dow : dom || dow;
}

export function matches(cron: Cron, date: Date): boolean {
  return (
    cron.minutes.includes(date.getUTCMinutes()) &&
    cron.hours.includes(date.getUTCHours()) &&
    cron.months.has(date.getUTCMonth() + 1) &&
    dayMatches(cron, date)
  );
}

/**
 * The first tick strictly after `after` (UTC), as robfig's Schedule.Next gives it; undefined when
 * none comes within its 5-year search. The operator creates the run at that tick only if one of its
 * reconciles lands within a second of it (it requeues itself for the tick; no catch-up afterwards).
 */
export function nextRun(cron: Cron, after: Date): Date | undefined {
  const start = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate());
  const limit = Date.UTC(after.getUTCFullYear() + 6, 0, 1);
  for (let day = start; day < limit; day += 24 * 3600 * 1000) {
    const date = new Date(day);
    if (!cron.months.has(date.getUTCMonth() + 1) || !dayMatches(cron, date)) continue;
    for (const hour of cron.hours) {
      for (const minute of cron.minutes) {
        const t = day + (hour * 60 + minute) * 60 * 1000;
        if (t > after.getTime()) return new Date(t);
      }
    }
  }
  return undefined;
}
