// Where a ReadWriteOnce volume in use is attached. Such a volume is attached to one node at a time: a
// helper pod the scheduler puts on another node never starts (the attach-detach controller's
// "Multi-Attach error"), so a helper for a volume in use must run on the node of the pods that use it.
// Volumes with other access modes only (ReadWriteMany, ReadOnlyMany) may be attached anywhere.
import { CoreV1Api, type CoreV1Event, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';

/** The node the helper of this claim must run on, or undefined when it may run anywhere. */
export async function attachedNode(kube: KubeConnection, pvc: V1PersistentVolumeClaim): Promise<string | undefined> {
  const modes = pvc.status?.accessModes ?? pvc.spec?.accessModes ?? [];
  if (!modes.includes('ReadWriteOnce')) return undefined;
  const { name, namespace = '' } = pvc.metadata!;
  const core = kube.config.makeApiClient(CoreV1Api);
  const pods = await kube.call({ verb: 'list', resource: 'pods', namespace }, () =>
    core.listNamespacedPod({ namespace }),
  );
  return nodeOfUsers(pods.items, name!);
}

/**
 * The one node where the pods that use the claim are (running ones first: they hold the attachment;
 * then scheduled ones, which hold it as soon as they are on a node), or undefined for none or several.
 */
export function nodeOfUsers(pods: V1Pod[], claim: string): string | undefined {
  const users = pods.filter(
    (p) =>
      p.spec?.nodeName &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed' &&
      p.spec.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim),
  );
  const running = users.filter((p) => p.status?.phase === 'Running');
  const nodes = new Set((running.length > 0 ? running : users).map((p) => p.spec!.nodeName!));
  return nodes.size === 1 ? [...nodes][0] : undefined;
}

/**
 * The attach-detach controller's Multi-Attach error for this pod, as a one-line error, or undefined.
 * The controller names the pods of the namespace that hold the volume.
 */
export async function multiAttachError(kube: KubeConnection, pod: V1Pod, what: string): Promise<UserError | undefined> {
  const { name, namespace = '', uid } = pod.metadata!;
  const core = kube.config.makeApiClient(CoreV1Api);
  let events: CoreV1Event[];
  try {
    const list = await kube.call({ verb: 'list', resource: 'events', namespace }, () =>
      core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` }),
    );
    events = list.items;
  } catch {
    return undefined; // the events only explain the wait; without them it times out with the pod's state
  }
  const event = events.find(
    (e) =>
      e.involvedObject.uid === uid && e.reason === 'FailedAttachVolume' && e.message?.startsWith('Multi-Attach error'),
  );
  if (!event) return undefined;
  return new UserError(
    `${what} "${name}" cannot mount its volume: ${event.message}`,
    'the volume is ReadWriteOnce and attached to another node: run again (the helper then runs on that node), ' +
      'or stop the pod(s) using it',
  );
}
