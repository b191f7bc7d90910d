// What the bed's simulated kubelet, attach-detach controller and CSI provisioner write to the API:
// a pod's status (a strategic merge patch, as a kubelet sends it) and an event on an object.
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1ObjectReference } from '@kubernetes/client-node';

/** Whether an API call failed because the object is not there (gone already, or never made). */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export async function patchPodStatus(
  core: CoreV1Api,
  pod: { name: string; namespace: string },
  status: Record<string, unknown>,
): Promise<void> {
  await core.patchNamespacedPodStatus(
    { name: pod.name, namespace: pod.namespace, body: { status } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

export interface EventSpec {
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  /** Who reports it: kubelet (with its node), attachdetach-controller, a provisioner. */
  source: { component: string; host?: string };
}

/** An event on `object` (its namespace, name and uid; apiVersion v1); the event's name. */
export async function recordEvent(
  core: CoreV1Api,
  object: V1ObjectReference & { kind: string; name: string; namespace: string },
  event: EventSpec,
): Promise<string> {
  const now = new Date();
  const created = await core.createNamespacedEvent({
    namespace: object.namespace,
    body: {
      metadata: { generateName: `${object.name}.` },
      involvedObject: { apiVersion: 'v1', ...object },
      ...event,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    },
  });
  return created.metadata!.name!;
}
