// Tuning presets from the operator's guide, as RCLONE_* settings; usable in
// both modes (operator mode writes them into additionalEnv). Explicit --env wins.
import { UsageError } from '../errors.ts';

export const PROFILES: Record<string, Record<string, string>> = {
  'high-bandwidth': { RCLONE_TRANSFERS: '16', RCLONE_CHECKERS: '32' },
  'limited-bandwidth': { RCLONE_TRANSFERS: '2', RCLONE_BWLIMIT: '10M' },
  'large-files': { RCLONE_MULTI_THREAD_CUTOFF: '50M', RCLONE_MULTI_THREAD_STREAMS: '4' },
};

export function tuningEnv(
  profile: string | undefined,
  bwlimit: string | undefined,
  explicit: Record<string, string>,
): Record<string, string> {
  if (profile !== undefined && !PROFILES[profile]) {
    throw new UsageError(`unknown --profile "${profile}"`, `use one of ${Object.keys(PROFILES).join(', ')}`);
  }
  return { ...(profile ? PROFILES[profile] : {}), ...(bwlimit ? { RCLONE_BWLIMIT: bwlimit } : {}), ...explicit };
}
