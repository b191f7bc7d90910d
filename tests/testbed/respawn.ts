// Starting a process again exactly as it ran: its argv, environment and working folder, read from
// /proc while it still runs; its pid file updated so that `testbed down` finds the new one.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

export interface CapturedProcess {
  pid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** How the process of `pidFile` was started. */
export function capturePidFile(pidFile: string): CapturedProcess {
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { pid, argv, env, cwd: readlinkSync(`/proc/${pid}/cwd`) };
}

/** Starts `captured` again, detached, appending to `logFile`; returns the new pid. */
export function respawn(captured: CapturedProcess, pidFile: string, logFile: string): number {
  const log = openSync(logFile, 'a');
  const { argv, env, cwd } = captured;
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`could not start ${argv[0]} again`);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return child.pid;
}
