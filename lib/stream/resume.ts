// Resuming a cut exec stream, for backup (from the last complete file) and
// restore (the batch) alike: one loop, how often, how long to wait, and when not to.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from '../kube/connection.ts';
import { helperPodGone } from '../kube/helper-pod.ts';
import { UserError } from '../errors.ts';

/** How many times a stream is started in all. */
export const MAX_STREAM_ATTEMPTS = 5;

/** The wait after attempt `attempt` was cut: 1, 2, 4, 8 s, together long enough for an API server restart. */
export function resumeDelayMs(attempt: number): number {
  return 1000 * 2 ** (attempt - 1);
}

export interface ResumeContext {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  signal: AbortSignal;
  report(detail: string): void;
}

export interface ResumePolicy {
  /** Whether `err` is a cut stream that another attempt may get past. */
  resumable(err: unknown): boolean;
  /** "during the transfer": what the helper pod's loss interrupted. */
  during: string;
  /** What the user does when the pod is gone or every attempt was cut. */
  fix: string;
  /** What is sent again: "from the last complete file", "the batch". */
  resumesWith: string;
}

/**
 * Runs `attempt` until it succeeds. A cut stream is tried again after a growing
 * wait, unless the helper pod is gone (nothing could help) or the attempts are spent.
 */
export async function withResumes<T>(
  ctx: ResumeContext,
  policy: ResumePolicy,
  attempt: () => Promise<T>,
): Promise<{ value: T; resumes: number }> {
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(), resumes: n - 1 };
    } catch (err) {
      if (ctx.signal.aborted || !policy.resumable(err)) throw err;
      await requireHelperPod(ctx, err, policy.during, policy.fix);
      const reason = (err as Error).message.split('\n')[0];
      if (n >= MAX_STREAM_ATTEMPTS)
        throw new UserError(`the stream with the pod was cut ${n} times (${reason})`, policy.fix, { cause: err });
      const delay = resumeDelayMs(n);
      ctx.report(
        `the stream was cut (${reason}), resuming ${policy.resumesWith} in ${delay / 1000}s ` +
          `(attempt ${n + 1}/${MAX_STREAM_ATTEMPTS})`,
      );
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  }
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
