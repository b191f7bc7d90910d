// A flow is a list of named steps; steps register cleanups as they create
// things, and the runner calls the cleanups in reverse order when the flow
// ends: on success, on failure and on SIGINT/SIGTERM. Progress rendering
// subscribes to the steps (lib/progress); it does not live inside them.
import type { ProgressRenderer } from '../progress/renderer.ts';
import { UserError } from '../errors.ts';
import { routeStrayErrors } from '../stray-errors.ts';
import type { PhaseClock } from '../metrics/phase-clock.ts';

export interface StepContext {
  signal: AbortSignal;
  /** Registers an undo action for something just created. */
  defer(title: string, action: () => Promise<void>): void;
}

export interface Step {
  title: string;
  run(report: (detail: string) => void): Promise<string | void>;
}

export interface FlowHandle extends StepContext {
  abort(reason: string): void;
  /** Ends the running step with `err` (cleanups still run). */
  fail(err: unknown): void;
}

interface Cleanup {
  title: string;
  action: () => Promise<void>;
}

export function createFlow(phases?: PhaseClock): FlowHandle & { cleanups: Cleanup[]; phases?: PhaseClock } {
  const controller = new AbortController();
  const cleanups: Cleanup[] = [];
  return {
    signal: controller.signal,
    cleanups,
    phases,
    defer(title, action) {
      cleanups.push({ title, action });
    },
    abort(reason) {
      controller.abort(
        new UserError(`interrupted by ${reason}`, 'the helper pod and clone were removed; run the command again'),
      );
    },
    fail(err) {
      if (!controller.signal.aborted) controller.abort(err);
    },
  };
}

/** Runs the steps, then the cleanups (always). Signals abort the running step. */
export async function runFlow(
  flow: ReturnType<typeof createFlow>,
  steps: Step[],
  progress: ProgressRenderer,
): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => flow.abort(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unroute = routeStrayErrors((err) => flow.fail(err));
  let failure: unknown;
  try {
    await progress.run(steps.map((step) => ({ ...step, run: (report) => raceAbort(step.run(report), flow.signal) })));
  } catch (err) {
    failure = flow.signal.aborted ? flow.signal.reason : err;
  }
  const cleanupErrors: string[] = [];
  if (flow.cleanups.length > 0) {
    flow.phases?.enter('CleaningUp');
    await progress
      .run([
        {
          title: 'Clean up',
          run: async (report) => {
            for (const cleanup of [...flow.cleanups].reverse()) {
              report(cleanup.title);
              await cleanup
                .action()
                .catch((err: unknown) => cleanupErrors.push(`${cleanup.title}: ${(err as Error).message}`));
            }
            return flow.cleanups.map((c) => c.title).join(', ');
          },
        },
      ])
      .catch(() => undefined);
  }
  flow.phases?.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  unroute();
  if (failure !== undefined) throw failure;
  if (cleanupErrors.length > 0)
    throw new UserError(
      `cleanup failed (${cleanupErrors.join('; ')})`,
      'delete the leftovers by hand: kubectl get pvc,pod -l app.kubernetes.io/managed-by=kubectl-datamover',
    );
}

async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined); // a step's late failure after an abort is not news
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
