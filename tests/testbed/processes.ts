// Background processes of the bed: started detached with a pid file and a log,
// stopped by pid file, so that "down" leaves nothing behind even from another shell.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessDirs {
  pids: string;
  logs: string;
}

export function startDetached(
  dirs: ProcessDirs,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): number {
  mkdirSync(dirs.pids, { recursive: true });
  mkdirSync(dirs.logs, { recursive: true });
  const log = openSync(join(dirs.logs, `${name}.log`), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  writeFileSync(join(dirs.pids, `${name}.pid`), String(child.pid));
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(dirs: ProcessDirs, name: string): number | undefined {
  const file = join(dirs.pids, `${name}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
}

/** Stops every process with a pid file: SIGTERM to its process group, then SIGKILL. */
export async function stopAll(dirs: ProcessDirs): Promise<void> {
  if (!existsSync(dirs.pids)) return;
  for (const file of readdirSync(dirs.pids)) {
    const pid = Number(readFileSync(join(dirs.pids, file), 'utf8'));
    if (pid > 0) await stopProcess(pid);
    rmSync(join(dirs.pids, file), { force: true });
  }
}

export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && isAlive(pid); waited += 100) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  for (let waited = 0; waited < 2000 && isAlive(pid); waited += 50) await sleep(50);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start listening on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
