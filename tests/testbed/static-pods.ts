// The kubelet of the bed's control plane, run as its own process by the bed. In a real cluster
// kube-controller-manager and kube-scheduler are static pods: when one exits (as it does by design
// when it loses its leader-election lease, e.g. after the API server was away for more than its
// 10 s renew deadline) the kubelet starts it again, at once the first time and then after a
// back-off of 10 s doubling up to 5 min, reset once it has run for 10 min. kwokctl's binary runtime
// starts them once and never again: this process restarts them as a kubelet would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterDir } from './cluster.ts';
import { statePaths } from './paths.ts';
import { isAlive } from './processes.ts';
import { type CapturedProcess, capturePidFile, respawn } from './respawn.ts';

const STATIC_PODS = ['kube-controller-manager', 'kube-scheduler'];
const POLL_MS = 500;
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 300_000;
const RESET_AFTER_MS = 600_000;

interface StaticPod {
  name: string;
  pidFile: string;
  logFile: string;
  captured: CapturedProcess;
  startedAt: number;
  /** The wait before starting it again after its next exit: 0 until it has exited once. */
  backoffMs: number;
  /** The wait before starting it again after this exit. */
  delayMs: number;
  exitedAt?: number;
}

/**
 * The kubelet's CrashLoopBackOff for a process that exited after running `ranMs`: the wait before
 * starting it again now, and the wait after its next exit.
 */
export function restartDelays(backoffMs: number, ranMs: number): { delayMs: number; backoffMs: number } {
  const delayMs = ranMs >= RESET_AFTER_MS ? 0 : backoffMs;
  return { delayMs, backoffMs: delayMs === 0 ? FIRST_BACKOFF_MS : Math.min(delayMs * 2, MAX_BACKOFF_MS) };
}

async function supervise(dir: string): Promise<never> {
  const cluster = clusterDir(statePaths(dir));
  const pods: StaticPod[] = STATIC_PODS.map((name) => {
    const pidFile = join(cluster, 'pids', `${name}.pid`);
    return {
      name,
      pidFile,
      logFile: join(cluster, 'logs', `${name}.log`),
      captured: capturePidFile(pidFile),
      startedAt: Date.now(),
      backoffMs: 0,
      delayMs: 0,
    };
  });
  for (;;) {
    await sleep(POLL_MS);
    for (const pod of pods) {
      if (!existsSync(pod.pidFile)) continue; // the cluster is being deleted
      const now = Date.now();
      if (pod.exitedAt === undefined) {
        if (isAlive(pod.captured.pid)) continue;
        pod.exitedAt = now;
        Object.assign(pod, restartDelays(pod.backoffMs, now - pod.startedAt));
        console.log(
          `${new Date().toISOString()} ${pod.name} (pid ${pod.captured.pid}) exited; again in ${pod.delayMs} ms`,
        );
      }
      if (now - pod.exitedAt < pod.delayMs) continue;
      pod.captured = { ...pod.captured, pid: respawn(pod.captured, pod.pidFile, pod.logFile) };
      pod.startedAt = now;
      pod.exitedAt = undefined;
      console.log(`${new Date().toISOString()} ${pod.name} started again (pid ${pod.captured.pid})`);
    }
  }
}

if (import.meta.main) await supervise(process.argv[2]!);
