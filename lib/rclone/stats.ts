// rclone's transfer statistics as it prints them with --stats-one-line at NOTICE level
// ("2026/11/27 15:13:53 NOTICE:    99.996 MiB / 300 MiB, 33%, 99.986 MiB/s, ETA 2s", the
// same in rclone 1.60 and 1.76): how many bytes the running command has moved so far.

/** The flags that make rclone print its statistics line every half second. */
export const STATS_ARGS = ['--stats', '500ms', '--stats-one-line', '--stats-log-level', 'NOTICE'];

const UNIT: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  PiB: 1024 ** 5,
};
const STATS_LINE = /NOTICE:\s+(\d+(?:\.\d+)?) (B|[KMGTP]iB) \/ \d+(?:\.\d+)? (?:B|[KMGTP]iB), (?:\d+%|-)/;

/** The bytes moved so far, from one line of rclone's log; undefined for any other line. */
export function parseStatsLine(line: string): number | undefined {
  const match = STATS_LINE.exec(line);
  return match ? Math.round(Number(match[1]) * UNIT[match[2]!]!) : undefined;
}
