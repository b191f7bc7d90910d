// Diagnostic messages on stderr, gated by kubectl's -v level. Results go to
// stdout through the commands' printers, never through here.
export interface Logger {
  verbosity: number;
  /** Printed when -v is at least `level` (kubectl: 2 info, 4 debug, 6 requests, 8 bodies). */
  debug(level: number, message: string): void;
  warn(message: string): void;
}

export function createLogger(
  verbosity: number,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  return {
    verbosity,
    debug(level, message) {
      if (verbosity >= level) write(`I${String(level).padStart(1)} ${message}\n`);
    },
    warn(message) {
      write(`warning: ${message}\n`);
    },
  };
}
