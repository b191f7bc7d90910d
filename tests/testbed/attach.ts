// The attach-detach controller's ReadWriteOnce rule for the bed's volumes, and the kubelet waiting for
// the attach. A volume whose PV has ReadWriteOnce among its access modes is attached to one node at a
// time: to the node of the first pod scheduled with it, until no pod on that node uses it any more. A
// pod on another node is held (ContainerCreating, never Running) and gets the controller's
// FailedAttachVolume "Multi-Attach error" event, until the volume is free. The attachments live in this
// process (the controller's actual state of the world), rebuilt from the running pods at start.
import type { CoreV1Api, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { patchPodStatus, recordEvent } from './api-writes.ts';
import { log } from './controller-loop.ts';
import { hasStopped } from './exec-wiring.ts';

/** Where a pod stands: no ReadWriteOnce volume, not scheduled yet, attached on its node, or refused. */
export type AttachState =
  | { kind: 'none' }
  | { kind: 'waiting' }
  | { kind: 'attached' }
  | { kind: 'multiAttach'; message: string };

/** PV name -> the node it is attached to. */
const attached = new Map<string, string>();
const reported = new Set<string>();

/** The ReadWriteOnce PVs the pod mounts. */
function rwoVolumes(pod: V1Pod, claims: V1PersistentVolumeClaim[], volumes: V1PersistentVolume[]): string[] {
  const names = [];
  for (const { persistentVolumeClaim: ref } of pod.spec?.volumes ?? []) {
    if (!ref) continue;
    const claim = claims.find(
      (c) => c.metadata?.namespace === pod.metadata?.namespace && c.metadata?.name === ref.claimName,
    );
    const volume = volumes.find((v) => v.metadata?.name === claim?.spec?.volumeName);
    if (volume?.spec?.accessModes?.includes('ReadWriteOnce')) names.push(volume.metadata!.name!);
  }
  return names;
}

/** Attaches and detaches for this tick; then each pod's state, by uid. */
export function attachStates(
  pods: V1Pod[],
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): Map<string, AttachState> {
  const active = pods.filter((p) => !p.metadata?.deletionTimestamp && !hasStopped(p));
  const uses = new Map(active.map((p) => [p, rwoVolumes(p, claims, volumes)]));
  const usersOf = (volume: string) => active.filter((p) => p.spec?.nodeName && uses.get(p)!.includes(volume));
  for (const [volume, node] of attached) {
    if (usersOf(volume).some((p) => p.spec?.nodeName === node)) continue;
    attached.delete(volume);
    log(`detached ${volume} from ${node}`);
  }
  for (const volume of new Set([...uses.values()].flat())) {
    if (attached.has(volume)) continue;
    // A running pod wins (the state at start), else the first one scheduled.
    const [first] = usersOf(volume).sort(
      (a, b) =>
        Number(b.status?.phase === 'Running') - Number(a.status?.phase === 'Running') ||
        new Date(a.metadata!.creationTimestamp!).getTime() - new Date(b.metadata!.creationTimestamp!).getTime(),
    );
    if (!first) continue;
    attached.set(volume, first.spec!.nodeName!);
    log(`attached ${volume} to ${first.spec!.nodeName} for ${first.metadata!.namespace}/${first.metadata!.name}`);
  }
  const states = new Map<string, AttachState>();
  for (const [pod, mine] of uses) {
    const node = pod.spec?.nodeName;
    let state: AttachState = mine.length === 0 ? { kind: 'none' } : node ? { kind: 'attached' } : { kind: 'waiting' };
    const elsewhere = node ? mine.find((v) => attached.get(v) !== node) : undefined;
    if (elsewhere) state = { kind: 'multiAttach', message: multiAttachMessage(pod, elsewhere, usersOf(elsewhere)) };
    states.set(pod.metadata!.uid!, state);
  }
  return states;
}

/** The controller's words: the pods of the pod's own namespace by name, the others counted. */
function multiAttachMessage(pod: V1Pod, volume: string, users: V1Pod[]): string {
  const holders = users.filter((p) => p.spec?.nodeName === attached.get(volume));
  const local = holders.filter((p) => p.metadata?.namespace === pod.metadata?.namespace).map((p) => p.metadata!.name);
  const others = holders.length - local.length;
  let why = `Volume is already used by pod(s) ${local.join(', ')}`;
  if (local.length === 0) why = `Volume is already used by ${others} pod(s) in different namespaces`;
  else if (others > 0) why += ` and ${others} pod(s) in different namespaces`;
  return `Multi-Attach error for volume "${volume}" ${why}`;
}

/** What a kubelet shows for a pod whose volume cannot be attached (ContainerCreating), and the event. */
export async function writeMultiAttach(core: CoreV1Api, pod: V1Pod, message: string): Promise<void> {
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  if (reported.has(`${uid}/${message}`)) return;
  reported.add(`${uid}/${message}`);
  const now = new Date();
  const notReady = { status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now };
  await patchPodStatus(
    core,
    { name, namespace },
    {
      phase: 'Pending',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'False', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'Ready', ...notReady },
        { type: 'ContainersReady', ...notReady },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
      })),
    },
  );
  await recordEvent(
    core,
    { kind: 'Pod', name, namespace, uid },
    { reason: 'FailedAttachVolume', message, type: 'Warning', source: { component: 'attachdetach-controller' } },
  );
  log(`${namespace}/${name}: ${message}`);
}
