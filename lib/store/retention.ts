// Which timestamp folders a retention policy keeps. The newest is always
// kept, and the plain sync target is never a candidate.
import { timestampToIso } from './catalog.ts';

export interface RetentionPolicy {
  keepLast?: number;
  keepWithinMs?: number;
}

export function pruneSelection(
  folders: string[],
  now: Date,
  policy: RetentionPolicy,
): { keep: string[]; remove: string[] } {
  const newestFirst = [...folders].sort().reverse();
  const keep = newestFirst.filter((folder, index) => {
    if (index === 0) return true;
    if (policy.keepLast !== undefined && index < policy.keepLast) return true;
    if (policy.keepWithinMs !== undefined && now.getTime() - Date.parse(timestampToIso(folder)) <= policy.keepWithinMs)
      return true;
    return false;
  });
  return { keep, remove: newestFirst.filter((f) => !keep.includes(f)) };
}
