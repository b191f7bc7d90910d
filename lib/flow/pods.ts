// Pods a flow starts: created, removed by the flow's cleanup whatever happens
// (the delete is registered before the create, so a signal while the create is
// in flight still removes it), and waited for until they can serve exec.
// `beforeReady` runs once the pod exists: waiting for a PVC that binds only
// once a pod uses it (WaitForFirstConsumer), with that PVC's own errors.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { attachedNode } from '../kube/attach.ts';
import {
  buildHelperPod,
  createHelperPod,
  deletePod,
  type HelperPrivilege,
  helperDeadlineSeconds,
  type HelperServer,
  type PodHint,
  waitForPodReady,
} from '../kube/helper-pod.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
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

export interface HelperPodRequest {
  name: string;
  namespace: string;
  claimName: string;
  readOnly: boolean;
  labels: Record<string, string>;
  /** --helper-image, --requests/--limits and --timeout. */
  helper: HelperPodOptions;
  privilege: HelperPrivilege;
  /** The claim when it may be in use: the helper then runs on the node where it is attached. */
  inUse?: V1PersistentVolumeClaim;
  beforeReady?: () => Promise<void>;
  /** A server the helper runs instead of idling. */
  server?: HelperServer;
}

/** A helper pod on a claim, built from the helper-pod flags, started and waited for (startPod). */
export async function startHelperPod(kube: KubeConnection, flow: Flow, request: HelperPodRequest): Promise<string> {
  const { helper, inUse } = request;
  const pod = buildHelperPod({
    name: request.name,
    namespace: request.namespace,
    claimName: request.claimName,
    image: helper.image,
    readOnly: request.readOnly,
    labels: request.labels,
    deadlineSeconds: helperDeadlineSeconds(helper.timeoutMs),
    resources: helper.resources,
    privilege: request.privilege,
    node: inUse && (await attachedNode(kube, inUse)),
    server: request.server,
  });
  return startPod(kube, flow, pod, helper.timeoutMs, undefined, request.beforeReady);
}
