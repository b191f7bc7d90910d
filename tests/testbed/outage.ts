// Outages of the bed's servers, for the fault matrix: a process is stopped and,
// after a while, started again exactly as it was (argv, environment, working
// folder), its pid file updated so that `testbed down` still finds it.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './processes.ts';

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
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  process.kill(pid, signal);
  const restarted = (async () => {
    for (let waited = 0; isAlive(pid) && waited < 10_000; waited += 50) await sleep(50);
    await sleep(downMs);
    const log = openSync(logFile, 'a');
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', log, log] });
    child.unref();
    writeFileSync(pidFile, String(child.pid));
    return child.pid!;
  })();
  return { restarted };
}
