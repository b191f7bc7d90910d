// One line of `check`'s report: what was checked, OK or FAIL, and the fix.
export interface CheckResult {
  ok: boolean;
  /** Not OK, but the check does not fail for it (WARN). */
  warn?: boolean;
  what: string;
  fix?: string;
}

export function renderCheckResults(results: CheckResult[]): string {
  const status = (r: CheckResult) => (r.ok ? 'OK  ' : r.warn ? 'WARN' : 'FAIL');
  return results.map((r) => `${status(r)}  ${r.what}${r.fix ? `; ${r.fix}` : ''}\n`).join('');
}

/**
 * Runs a probe; a UserError becomes a FAIL line with its fix, anything else is a bug and is thrown.
 * A string the action returns is shown as the detail of the OK line.
 */
export async function probe(what: string, action: () => Promise<unknown>): Promise<CheckResult> {
  try {
    const detail = await action();
    return { ok: true, what: typeof detail === 'string' && detail ? `${what} (${detail})` : what };
  } catch (err) {
    const fix = (err as { fix?: string }).fix;
    if (fix === undefined) throw err;
    return { ok: false, what: `${what}: ${(err as Error).message}`, fix };
  }
}
