// A flow is a sequence of named steps; steps register cleanups as they create
// things, and the runner calls the cleanups in reverse order when the flow
// ends: on success, on failure and on SIGINT/SIGTERM. Each step returns a
// typed value to the next (no shared mutable state). Progress rendering
// subscribes to the steps (lib/progress); it does not live inside them.
// An aborted step stops waiting at once, but what it started ends in its own
// time: the cleanups wait for it (a bounded while), so that nothing it still
// does (a write, a process) comes after what they remove.
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import type { PhaseClock } from '../metrics/phase-clock.ts';
import type { Phase } from '../phases.ts';
import type { ProgressRenderer, Report } from '../progress/renderer.ts';
import { routeStrayErrors } from '../stray-errors.ts';

export interface Flow {
  /** Aborted on a signal, on flow.abort and when a step fails: pass it to everything that waits. */
  readonly signal: AbortSignal;
  /** Registers an undo action for something just created. */
  defer(title: string, action: () => Promise<void>): void;
  /** Runs one step, shown by the progress renderer; its value is the step's result. */
  step<T>(title: string, run: (report: Report) => Promise<T>, summary?: (value: T) => string | undefined): Promise<T>;
  /** Marks the start of an operator-named phase (for the metrics). */
  enter(phase: Phase): void;
  /** Ends the running step with `reason` (cleanups still run). */
  abort(reason: unknown): void;
}

interface Cleanup {
  title: string;
  action: () => Promise<void>;
}

export interface FlowOptions {
  progress: ProgressRenderer;
  phases?: PhaseClock;
  /** How long the cleanups wait for an aborted step to end what it started (30 s). */
  unwindMs?: number;
}

/** Runs `body`, then the cleanups (always). SIGINT/SIGTERM abort the running step. */
export async function runFlow<T>(options: FlowOptions, body: (flow: Flow) => Promise<T>): Promise<T> {
  const { progress, phases } = options;
  const controller = new AbortController();
  const cleanups: Cleanup[] = [];
  const unsettled = new Set<Promise<unknown>>();
  const track = <P extends Promise<unknown>>(work: P): P => {
    unsettled.add(work);
    const settled = () => unsettled.delete(work);
    work.then(settled, settled);
    return work;
  };
  const abort = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const flow: Flow = {
    signal: controller.signal,
    defer: (title, action) => cleanups.push({ title, action }),
    async step(title, run, summary) {
      let value: Awaited<ReturnType<typeof run>> | undefined;
      await progress.run([
        {
          title,
          run: async (report) => {
            value = await raceAbort(track(run(report)), controller.signal);
            return summary?.(value);
          },
        },
      ]);
      return value as Awaited<ReturnType<typeof run>>;
    },
    enter: (phase) => phases?.enter(phase),
    abort,
  };
  const onSignal = (signal: NodeJS.Signals) => abort(interrupted(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unroute = routeStrayErrors(abort);
  let failure: unknown;
  let result: T | undefined;
  try {
    result = await raceAbort(track(body(flow)), controller.signal);
  } catch (err) {
    failure = controller.signal.aborted ? controller.signal.reason : err;
    abort(failure); // whatever of the failed step still runs stops now
    // A timer that keeps the process alive: a step stuck on nothing must not let it exit before the cleanups.
    const waited = new AbortController();
    const bound = sleep(options.unwindMs ?? UNWIND_MS, undefined, { signal: waited.signal }).catch(() => undefined);
    await Promise.race([Promise.allSettled(unsettled), bound]);
    waited.abort();
  }
  const cleanupErrors = await runCleanups(cleanups, progress, phases);
  phases?.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  unroute();
  if (failure !== undefined) throw cleanupErrors.length > 0 ? failedCleaningUp(failure, cleanupErrors) : failure;
  if (cleanupErrors.length > 0) throw new UserError(`cleanup failed (${cleanupErrors.join('; ')})`, LEFTOVERS_FIX);
  return result as T;
}

/** How long the cleanups wait for an aborted step to end what it started. */
const UNWIND_MS = 30_000;

const LEFTOVERS_FIX =
  'delete the leftovers by hand: kubectl get pvc,pod -l app.kubernetes.io/managed-by=kubectl-datamover ' +
  '(and volumesnapshot, after --source snapshot)';

/** A failed run whose cleanup failed too: both said, the leftovers first in what to do. */
function failedCleaningUp(failure: unknown, cleanupErrors: string[]): UserError {
  const what = failure instanceof Error ? (failure.message.split('\n')[0] ?? '') : String(failure);
  // An interruption's own fix says everything was removed: not so here.
  const then = failure instanceof Interrupted ? 'run the command again' : failure instanceof UserError && failure.fix;
  const fix = then ? `${LEFTOVERS_FIX}; then ${then}` : LEFTOVERS_FIX;
  return new UserError(`${what}; and cleanup failed (${cleanupErrors.join('; ')})`, fix, {
    cause: failure,
    exitCode: failure instanceof UserError ? failure.exitCode : 1,
  });
}

export function interrupted(signal: string): UserError {
  return new Interrupted(signal);
}

class Interrupted extends UserError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, 'what this run had created in the cluster was removed; run the command again');
  }
}

/** The cleanups in reverse order of registration; every one runs, failures are collected. */
async function runCleanups(cleanups: Cleanup[], progress: ProgressRenderer, phases?: PhaseClock): Promise<string[]> {
  const errors: string[] = [];
  if (cleanups.length === 0) return errors;
  phases?.enter('CleaningUp');
  await progress
    .run([
      {
        title: 'Clean up',
        run: async (report) => {
          for (const cleanup of [...cleanups].reverse()) {
            report(cleanup.title);
            await cleanup.action().catch((err: unknown) => errors.push(`${cleanup.title}: ${(err as Error).message}`));
          }
          return cleanups.map((c) => c.title).join(', ');
        },
      },
    ])
    .catch(() => undefined);
  return errors;
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
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
