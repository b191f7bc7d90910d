// The idle helper's command, run with BusyBox's sh (the helper's image): it waits, and ends at SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { idleCommand } from '../../../lib/kube/helper-pod.ts';

/** Runs the command in a process group of its own; its exit code, and how long it ran after `stopAfterMs`. */
async function runIdle(seconds: number, stopAfterMs?: number): Promise<{ code: number | null; ms: number }> {
  const [shell, ...args] = idleCommand(seconds);
  const child = spawn('busybox', [shell!, ...args], { stdio: 'ignore', detached: true });
  try {
    await sleep(stopAfterMs ?? 0);
    const stopped = Date.now();
    if (stopAfterMs !== undefined) child.kill('SIGTERM'); // what a kubelet sends to the container's pid 1
    const [code] = await once(child, 'exit');
    return { code, ms: Date.now() - stopped };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // its sleep, as the container's end would
    } catch {
      // all gone
    }
  }
}

describe('the idle helper’s command', () => {
  it('ends at SIGTERM at once, with exit code 0', async () => {
    const { code, ms } = await runIdle(60, 300);
    assert.equal(code, 0);
    assert.ok(ms < 2000, `it ran ${ms} ms after SIGTERM`);
  });

  it('ends by itself once its seconds are over', async () => {
    const { code, ms } = await runIdle(1);
    assert.equal(code, 0);
    assert.ok(ms >= 900 && ms < 5000, `it ran ${ms} ms`);
  });
});
