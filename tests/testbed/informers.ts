// The bed's controllers read the cluster as real controllers do: from caches that a watch keeps
// (client-node's informers), reconciling when something changed, instead of listing every pod, PVC
// and PV of the cluster a few times a second (that was most of the API server's CPU during the tests).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import { log } from './controller-loop.ts';

export interface Cache<T> {
  list(): T[];
}

/** Wakes the reconcile loop of the process: a cache changed. */
let wake: () => void = () => undefined;

/** A cache of `path` (one resource, all namespaces), kept by a watch that starts again after an error. */
export async function watched<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
): Promise<Cache<T>> {
  const informer = makeInformer(kc, path, list, labelSelector);
  informer.on('change', () => wake());
  // The API server stopped (the fault matrix's outages) or the watch broke: list and watch again.
  informer.on('error', (err) => {
    log(`watch ${path}: ${String((err as Error)?.message ?? err).split('\n')[0]}; watching again in 1 s`);
    void sleep(1000).then(() => informer.start().catch(() => undefined));
  });
  await informer.start();
  return { list: () => [...informer.list()] };
}

/**
 * Reconciles at once when a cache changed (at most every `gapMs`), and every `idleMs` anyway, for what
 * waits on time rather than on the cluster (retry backoffs, deadlines, the snapshots it still lists).
 */
export async function reconcileOnChange(
  reconcile: () => Promise<void>,
  { gapMs, idleMs }: { gapMs: number; idleMs: number },
): Promise<void> {
  let stopping = false;
  let changed = Promise.withResolvers<void>();
  wake = () => changed.resolve();
  process.once('SIGTERM', () => {
    stopping = true;
    wake();
  });
  while (!stopping) {
    changed = Promise.withResolvers<void>();
    try {
      await reconcile();
    } catch (err) {
      log(`reconcile failed: ${(err as Error).message.split('\n')[0]}`);
    }
    await sleep(gapMs);
    await Promise.race([changed.promise, sleep(idleMs)]);
  }
}
