// Finding and killing the processes a fault is aimed at, read straight from
// /proc. Only processes at or below given roots are considered: the plugin run
// under test (its rclone) or the commands exec'd into the pods of the case's
// namespace (the bed runs them as local processes), never another test's.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The processes at or below `roots` (children, grandchildren, ...) whose command line matches `pattern`.
 * A root is a process the fault is aimed within: the plugin run under test, or a command exec'd into a pod.
 */
export function processesBelow(roots: number[], pattern: RegExp): number[] {
  const found: number[] = [];
  // Down the tree through /proc/PID/task/TID/children: a poll reads the subtree, not every process.
  for (let queue = [...roots]; queue.length > 0; ) {
    const pid = queue.shift()!;
    if (pattern.test(readProc(pid, 'cmdline')?.replaceAll('\0', ' ') ?? '')) found.push(pid);
    queue.push(...childrenOf(pid));
  }
  return found;
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  return tasks.flatMap((tid) => (readProc(pid, `task/${tid}/children`) ?? '').split(' ').filter(Boolean).map(Number));
}

/**
 * Polls until a process at or below `roots()` matches `pattern` and `act` on its pids succeeds
 * (returns true: a kill that hit a live process, or a check). Returns false when
 * `giveUp` settles first (the run under test ended) or `timeoutMs` passes.
 */
export async function whenRunning(
  roots: () => number[],
  pattern: RegExp,
  giveUp: Promise<unknown>,
  act: (pids: number[]) => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<boolean> {
  let over = false;
  giveUp.then(
    () => (over = true),
    () => (over = true),
  );
  for (const deadline = Date.now() + timeoutMs; !over && Date.now() < deadline; await sleep(2)) {
    const pids = processesBelow(roots(), pattern);
    if (pids.length > 0 && (await act(pids))) return true;
  }
  return false;
}

/** Sends `signal` to each pid; true if it reached at least one live process. */
export function signalAll(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): boolean {
  let hit = false;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      hit = true;
    } catch {
      // gone already: it does not count as hit
    }
  }
  return hit;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
