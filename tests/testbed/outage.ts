// Outages of the bed's servers, for the fault matrix: a process is stopped and,
// after a while, started again exactly as it was (argv, environment, working
// folder), its pid file updated so that `testbed down` still finds it.
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './processes.ts';
import { capturePidFile, respawn } from './respawn.ts';

export interface Outage {
  /** Resolves once the process runs again. */
  restarted: Promise<number>;
}

/** Stops the process of `pidFile` with `signal` now and starts it again after `downMs`. */
export function startOutage(
  pidFile: string,
  downMs: number,
  logFile: string,
  signal: NodeJS.Signals = 'SIGKILL',
): Outage {
  const captured = capturePidFile(pidFile);
  process.kill(captured.pid, signal);
  const restarted = (async () => {
    for (let waited = 0; isAlive(captured.pid) && waited < 10_000; waited += 50) await sleep(50);
    await sleep(downMs);
    return respawn(captured, pidFile, logFile);
  })();
  return { restarted };
}
