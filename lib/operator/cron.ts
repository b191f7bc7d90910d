// Five-field cron expressions (minute hour day-of-month month day-of-week):
// parsing with an error that names the wrong field, what the operator's CRD
// accepts (only "*", a number or a step of "*" per field), and the next run time.
import { UsageError } from '../errors.ts';

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 6 },
] as const;

export interface Cron {
  expression: string;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Cron's rule: when both day fields are restricted, either may match. */
  dayOfMonthAny: boolean;
  dayOfWeekAny: boolean;
}

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new UsageError(
      `--schedule "${expression}" has ${parts.length} fields, cron needs 5`,
      'use "minute hour day-of-month month day-of-week", e.g. "0 2 * * *"',
    );
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!, expression));
  return {
    expression,
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays: sets[4]!,
    dayOfMonthAny: parts[2] === '*',
    dayOfWeekAny: parts[4] === '*',
  };
}

function parseField(part: string, field: (typeof FIELDS)[number], expression: string): Set<number> {
  const values = new Set<number>();
  const fail = (why: string): never => {
    throw new UsageError(
      `--schedule "${expression}": the ${field.name} field "${part}" ${why}`,
      `use a value from ${field.min} to ${field.max}, *, a range a-b, a list a,b or a step */n`,
    );
  };
  for (const item of part.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) fail('is not valid');
    const step = match![4] !== undefined ? Number(match![4]) : 1;
    if (step < 1) fail('has a step of 0');
    let from: number = field.min;
    let to: number = field.max;
    if (match![1] !== '*') {
      from = Number(match![2]);
      to = match![3] !== undefined ? Number(match![3]) : match![4] !== undefined ? field.max : from;
    }
    // Sunday may be written 7.
    if (field.name === 'day-of-week' && to === 7) {
      values.add(0);
      if (from === 7) continue;
      to = 6;
    }
    if (from < field.min || to > field.max || from > to) fail(`is out of range (${field.min}-${field.max})`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** The DataMoverSchedule CRD only accepts "*", a number or a step of "*" in each field. */
export function checkOperatorAccepts(expression: string): void {
  const parts = expression.trim().split(/\s+/);
  parts.forEach((part, i) => {
    if (!/^(\*|\d+|\*\/\d+)$/.test(part)) {
      throw new UsageError(
        `--schedule "${expression}": the operator accepts only *, a number or */n in each field, ` +
          `not "${part}" in the ${FIELDS[i]!.name} field`,
        'simplify the expression, or run several schedules',
      );
    }
  });
}

export function matches(cron: Cron, date: Date): boolean {
  if (
    !cron.minutes.has(date.getUTCMinutes()) ||
    !cron.hours.has(date.getUTCHours()) ||
    !cron.months.has(date.getUTCMonth() + 1)
  )
    return false;
  const dom = cron.days.has(date.getUTCDate());
  const dow = cron.weekdays.has(date.getUTCDay());
  if (cron.dayOfMonthAny || cron.dayOfWeekAny) return dom && dow;
  return dom || dow;
}

/** The first time strictly after `after` (UTC, as the operator's controller runs) that the schedule fires. */
export function nextRun(cron: Cron, after: Date): Date | undefined {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  // Four years covers every valid expression (29 February included).
  for (let i = 0; i < 4 * 366 * 24 * 60; i++) {
    if (matches(cron, t)) return t;
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  return undefined;
}
