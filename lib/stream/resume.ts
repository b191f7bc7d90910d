// Resuming a cut exec stream, for backup (from the last complete file) and
// restore (the batch) alike: how often, how long to wait, and when not to.
import type { KubeConnection } from '../kube/connection.ts';
import { helperPodGone } from '../kube/helper-pod.ts';
import { UserError } from '../errors.ts';

/** How many times a stream is started in all. */
export const MAX_STREAM_ATTEMPTS = 5;

/** The wait after attempt `attempt` was cut: 1, 2, 4, 8 s, together long enough for an API server restart. */
export function resumeDelayMs(attempt: number): number {
  return 1000 * 2 ** (attempt - 1);
}

/** Ends the run at once when the helper pod can no longer serve exec: resuming could not help. */
export async function requireHelperPod(
  pod: { kube: KubeConnection; namespace: string; pod: string },
  cause: unknown,
  during: string,
  fix: string,
): Promise<void> {
  const gone = await helperPodGone(pod.kube, pod.namespace, pod.pod);
  if (gone) throw new UserError(`the helper pod ${pod.pod} ${gone} ${during}`, fix, { cause });
}
