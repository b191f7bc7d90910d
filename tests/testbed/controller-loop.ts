// The loop of the bed's small controllers (provisioner, job-runner): reconcile,
// log a failure in one line and go on, until SIGTERM.
import { setTimeout as sleep } from 'node:timers/promises';

export function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

export async function reconcileUntilStopped(reconcile: () => Promise<void>, intervalMs: number): Promise<void> {
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  while (!stopping) {
    try {
      await reconcile();
    } catch (err) {
      log(`reconcile failed: ${(err as Error).message.split('\n')[0]}`);
    }
    await sleep(intervalMs);
  }
}
