// Pods a flow starts: created, removed by the flow's cleanup whatever happens
// (the delete is registered before the create, so a signal while the create is
// in flight still removes it), and waited for until they can serve exec.
// `beforeReady` runs once the pod exists: waiting for a PVC that binds only
// once a pod uses it (WaitForFirstConsumer), with that PVC's own errors.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { createHelperPod, deletePod, waitForPodReady, type PodHint } from '../kube/helper-pod.ts';
import type { Flow } from './runner.ts';

export async function startPod(
  kube: KubeConnection,
  flow: Flow,
  pod: V1Pod,
  timeoutMs: number,
  hint?: PodHint,
  beforeReady?: () => Promise<void>,
): Promise<string> {
  const name = pod.metadata!.name!;
  const namespace = pod.metadata!.namespace!;
  const created = createHelperPod(kube, pod);
  flow.defer(`delete ${hint?.what ?? 'helper pod'} ${name}`, () =>
    created.catch(() => undefined).then(() => deletePod(kube, namespace, name)),
  );
  await created;
  await beforeReady?.();
  await waitForPodReady(kube, namespace, name, timeoutMs, flow.signal, hint);
  return name;
}
