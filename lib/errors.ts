// The one error type users see, and the one place that turns any failure into
// the line printed on stderr: "error: <what went wrong>; <what to do>".

export class UserError extends Error {
  readonly fix: string;
  readonly exitCode: number;

  constructor(what: string, fix: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(what, { cause: options.cause });
    this.name = 'UserError';
    this.fix = fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad flags or arguments: exit code 2, like kubectl. */
export class UsageError extends UserError {
  constructor(what: string, fix: string) {
    super(what, fix, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** Verbosity at which stack traces and causes are printed too (kubectl's -v=6). */
export const TRACE_VERBOSITY = 6;

export function exitCodeOf(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 1;
}

/**
 * The single line printed for a failure. Errors that are not UserErrors come
 * from a bug or from a library: their message is kept to its first line, since
 * some libraries put response headers and bodies on the following ones.
 */
export function formatErrorLine(err: unknown): string {
  if (err instanceof UserError) return `error: ${oneLine(err.message)}; ${oneLine(err.fix)}`;
  const message = err instanceof Error ? err.message : String(err);
  const fix = `rerun with -v=${TRACE_VERBOSITY} for details, and report it if it looks like a bug`;
  return `error: ${oneLine(message.split('\n')[0] ?? '')}; ${fix}`;
}

/** What -v=6 and above add below the error line: the stack and the cause chain. */
export function formatErrorTrace(err: unknown): string {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      lines.push(redactHttpDump(current.stack ?? current.message));
      current = current.cause;
    } else {
      lines.push(String(current));
      break;
    }
  }
  return lines.join('\ncaused by: ');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

// client-node's ApiException message embeds the response headers and body.
function redactHttpDump(text: string): string {
  return text.replace(/\nBody: [\s\S]*?(\n {4}at |$)/, '\nBody: <redacted>$1');
}
