// What a kubelet checks before it starts a pod's containers, for the pods kwok runs: the image must
// be on the node (NODE_IMAGES; the bed pulls nothing), then every Secret, ConfigMap and key the env
// refers to must exist. A pod that fails either is held (HELD_LABEL, so kwok's pod-ready stage skips
// it) and gets the container status a kubelet would write: ErrImagePull then ImagePullBackOff, or
// CreateContainerConfigError with the kubelet's message. Checked again on every tick, so a pod
// starts once what it lacked appears, as with a kubelet's retries.
import type { CoreV1Api, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { isNotFound, patchPodStatus, recordEvent } from './api-writes.ts';
import { NODE_IMAGES } from './cluster.ts';
import { log } from './controller-loop.ts';

export interface Refusal {
  container: string;
  image: string;
  reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'CreateContainerConfigError';
  message: string;
}

/** An image reference as containerd names it: docker.io/library/NAME:latest for "NAME". */
export function normalizedImage(image: string): string {
  const [first, ...rest] = image.split('/');
  const hasRegistry = rest.length > 0 && (/[.:]/.test(first!) || first === 'localhost');
  let name = hasRegistry ? image : `docker.io/${image}`;
  if (!hasRegistry && rest.length === 0) name = `docker.io/library/${image}`;
  const last = name.slice(name.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? name : `${name}:latest`;
}

const present = new Set(NODE_IMAGES.map(normalizedImage));

/** Why a kubelet would not start this pod's containers, or undefined when it would. */
export async function kubeletRefusal(core: CoreV1Api, pod: V1Pod): Promise<Refusal | undefined> {
  const namespace = pod.metadata!.namespace!;
  const containers = pod.spec?.containers ?? []; // the bed's pods have no init containers
  for (const { name, image = '', imagePullPolicy } of containers) {
    if (present.has(normalizedImage(image))) continue;
    if (imagePullPolicy === 'Never')
      return {
        container: name,
        image,
        reason: 'ErrImageNeverPull',
        message: `Container image "${image}" is not present with pull policy of Never`,
      };
    return {
      container: name,
      image,
      reason: 'ErrImagePull',
      message:
        `failed to pull and unpack image "${normalizedImage(image)}": ` +
        "not one of the test bed node's images (tests/testbed/cluster.ts NODE_IMAGES)",
    };
  }
  for (const container of containers) {
    const message = await missingReference(core, namespace, container);
    if (message)
      return { container: container.name, image: container.image ?? '', reason: 'CreateContainerConfigError', message };
  }
  return undefined;
}

/** The kubelet's words for the first Secret, ConfigMap or key the container's env needs and cannot have. */
async function missingReference(
  core: CoreV1Api,
  namespace: string,
  container: NonNullable<V1Pod['spec']>['containers'][number],
): Promise<string | undefined> {
  const refs = [
    ...(container.envFrom ?? []).map((from) => ({
      secret: from.secretRef?.name,
      configMap: from.configMapRef?.name,
      key: undefined,
      optional: (from.secretRef ?? from.configMapRef)?.optional,
    })),
    ...(container.env ?? []).map(({ valueFrom }) => ({
      secret: valueFrom?.secretKeyRef?.name,
      configMap: valueFrom?.configMapKeyRef?.name,
      key: (valueFrom?.secretKeyRef ?? valueFrom?.configMapKeyRef)?.key,
      optional: (valueFrom?.secretKeyRef ?? valueFrom?.configMapKeyRef)?.optional,
    })),
  ];
  for (const ref of refs) {
    if (ref.optional || (!ref.secret && !ref.configMap)) continue;
    const kind = ref.secret ? 'Secret' : 'ConfigMap';
    const name = (ref.secret ?? ref.configMap)!;
    const data = await readData(core, kind, namespace, name);
    if (!data) return `${kind.toLowerCase()} "${name}" not found`;
    if (ref.key !== undefined && !(ref.key in data))
      return `couldn't find key ${ref.key} in ${kind} ${namespace}/${name}`;
  }
  return undefined;
}

async function readData(core: CoreV1Api, kind: 'Secret' | 'ConfigMap', namespace: string, name: string) {
  try {
    const object =
      kind === 'Secret'
        ? await core.readNamespacedSecret({ name, namespace })
        : await core.readNamespacedConfigMap({ name, namespace });
    return { ...object.data, ...('binaryData' in object ? object.binaryData : {}) };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Writes the status a kubelet writes for a refused pod on its node (and its event), unless it is there. */
export async function writeRefusal(core: CoreV1Api, pod: V1Pod, refusal: Refusal): Promise<void> {
  const status = refusedStatus(pod, refusal);
  if (!status) return;
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  const now = new Date();
  const notReady = { status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now };
  await patchPodStatus(
    core,
    { name, namespace },
    {
      phase: 'Pending',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'Ready', ...notReady },
        { type: 'ContainersReady', ...notReady },
      ],
      containerStatuses: [status],
    },
  );
  const waiting = status.state!.waiting!;
  await recordEvent(
    core,
    { kind: 'Pod', name, namespace, uid, fieldPath: `spec.containers{${status.name}}` },
    {
      reason: waiting.reason === 'ImagePullBackOff' ? 'BackOff' : 'Failed',
      message: waiting.reason === 'CreateContainerConfigError' ? `Error: ${waiting.message}` : waiting.message!,
      type: 'Warning',
      source: { component: 'kubelet', host: pod.spec?.nodeName },
    },
  );
  log(`${namespace}/${name}: ${waiting.reason}: ${waiting.message}`);
}

/**
 * The container status a kubelet writes for a refused pod once it is on the node: the refusal's reason
 * (an image pull failure turns into ImagePullBackOff on the next look), or undefined when it is written.
 */
function refusedStatus(pod: V1Pod, refusal: Refusal): V1ContainerStatus | undefined {
  const current = pod.status?.containerStatuses?.find((s) => s.name === refusal.container)?.state?.waiting;
  const pulling = refusal.reason === 'ErrImagePull' && /^(ErrImagePull|ImagePullBackOff)$/.test(current?.reason ?? '');
  const reason = pulling ? 'ImagePullBackOff' : refusal.reason;
  const message = pulling
    ? `Back-off pulling image "${refusal.image}": ErrImagePull: ${refusal.message}`
    : refusal.message;
  if (current?.reason === reason && current.message === message) return undefined;
  return {
    name: refusal.container,
    image: refusal.image,
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { reason, message } },
  };
}
