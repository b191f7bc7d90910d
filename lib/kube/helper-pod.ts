// The small helper pod that mounts a volume for local mode. It only idles (or
// runs a server, see HelperServer): the work is done by commands exec'd into it,
// relative to its workingDir (the mount), with busybox applets. It runs with the least privilege its job
// needs (see HelperPrivilege), and deadlines itself so that a crashed run cannot
// leave it running for ever.
import {
  CoreV1Api,
  type V1Affinity,
  type V1EnvVar,
  type V1Pod,
  type V1ResourceRequirements,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';
import { ignoreNotFound } from './api-errors.ts';
import { formatDuration } from '../format/duration.ts';
import { multiAttachError } from './attach.ts';
import { RUN_LABEL } from './labels.ts';

export const DEFAULT_HELPER_IMAGE = 'docker.io/library/busybox:1.37';
export const HELPER_CONTAINER = 'helper';
export const MOUNT_PATH = '/data';
export const DEFAULT_HELPER_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '200m', memory: '512Mi' },
  limits: { memory: '1Gi' },
};

/** datamover[-purpose]-<pvc, shortened>-<run id>: at most 63 characters (a valid hostname), and says what it is for. */
export function helperPodName(purpose: string | undefined, pvc: string, runId: string): string {
  const prefix = purpose ? `datamover-${purpose}` : 'datamover';
  return `${prefix}-${pvc.slice(0, 55 - prefix.length).replace(/[-.]+$/, '')}-${runId}`;
}

/** The pod deadlines itself well after the run's own timeout: a crashed run cannot leave it running. */
export function helperDeadlineSeconds(timeoutMs: number): number {
  return Math.max(3600, Math.ceil((timeoutMs * 4) / 1000));
}

/**
 * Who the helper's commands run as. `user`: a non-root uid with every capability dropped, which Pod
 * Security "restricted" admits; it reads what that uid may read. `root`: uid 0 with every capability
 * dropped but `capabilities`, which "baseline" admits (it refuses DAC_READ_SEARCH, so reading uses
 * DAC_OVERRIDE: on a read-only mount and a read-only root it can read any file and write none).
 */
export type HelperPrivilege = { kind: 'user'; uid: number; gid: number } | { kind: 'root'; capabilities: string[] };

/** Reads any file of a read-only mount. */
export const READ_ANY_FILE: HelperPrivilege = { kind: 'root', capabilities: ['DAC_OVERRIDE'] };
/** Writes any file and gives it its owner, mode (setuid/setgid too) and mtime: what `tar -x` as root needs. */
export const WRITE_ANY_FILE: HelperPrivilege = {
  kind: 'root',
  capabilities: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'],
};
export const NOBODY: HelperPrivilege = { kind: 'user', uid: 65534, gid: 65534 };

export function describePrivilege(privilege: HelperPrivilege): string {
  return privilege.kind === 'root'
    ? `root with only ${privilege.capabilities.join(', ')}`
    : `uid ${privilege.uid}:${privilege.gid}`;
}

export interface HelperPodSpec {
  name: string;
  namespace: string;
  claimName: string;
  image: string;
  readOnly: boolean;
  labels: Record<string, string>;
  deadlineSeconds: number;
  /** --requests/--limits; the defaults are the operator guide's. */
  resources?: V1ResourceRequirements;
  /** By default NOBODY. */
  privilege?: HelperPrivilege;
  /** The node it must run on: where its ReadWriteOnce volume is attached (attachedNode). */
  node?: string;
  /** A server the helper runs instead of idling (backup --transport port-forward). */
  server?: HelperServer;
}

/** A server in the helper container: its command, env, the port it listens on, and a scratch emptyDir. */
export interface HelperServer {
  command: string[];
  env: V1EnvVar[];
  port: number;
  scratch: string;
}

export function buildHelperPod(spec: HelperPodSpec): V1Pod {
  const privilege = spec.privilege ?? NOBODY;
  const { server } = spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      activeDeadlineSeconds: spec.deadlineSeconds,
      // The idle helper ends at SIGTERM at once; a server stops on it, and may clean up after.
      terminationGracePeriodSeconds: server ? 10 : 1,
      ...(spec.node ? { affinity: onNode(spec.node) } : {}),
      securityContext: {
        runAsNonRoot: privilege.kind === 'user',
        runAsUser: privilege.kind === 'user' ? privilege.uid : 0,
        runAsGroup: privilege.kind === 'user' ? privilege.gid : 0,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: HELPER_CONTAINER,
          image: spec.image,
          command: server?.command ?? idleCommand(spec.deadlineSeconds),
          ...(server ? { env: server.env, ports: [{ containerPort: server.port, protocol: 'TCP' }] } : {}),
          workingDir: MOUNT_PATH,
          volumeMounts: [
            { name: 'data', mountPath: MOUNT_PATH, readOnly: spec.readOnly },
            ...(server ? [{ name: 'scratch', mountPath: server.scratch }] : []),
          ],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'], ...(privilege.kind === 'root' ? { add: privilege.capabilities } : {}) },
          },
          resources: spec.resources ?? DEFAULT_HELPER_RESOURCES,
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: spec.claimName, readOnly: spec.readOnly } },
        ...(server ? [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }] : []),
      ],
    },
  };
}

/**
 * The idle helper's command: waits `seconds`, and ends at SIGTERM. As a container's pid 1, `sleep` would
 * ignore SIGTERM (the kernel drops signals pid 1 has no handler for): each deletion would wait out the grace.
 */
export function idleCommand(seconds: number): string[] {
  return ['sh', '-c', `trap 'exit 0' TERM; sleep ${seconds} & wait`];
}

/** Required node affinity to one node by name (the scheduler still checks it fits there). */
function onNode(node: string): V1Affinity {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] };
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } } };
}

export async function createHelperPod(kube: KubeConnection, pod: V1Pod): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const namespace = pod.metadata!.namespace!;
  await kube.call({ verb: 'create', resource: 'pods', name: pod.metadata!.name, namespace }, () =>
    core.createNamespacedPod({ namespace, body: pod }),
  );
}

/** How a caller names its pod, and the flag that picks the pod's image. */
export interface PodHint {
  /** By default "helper pod". */
  what?: string;
  /** By default --helper-image, the flag of helperPodOptions (lib/kube/helper-pod-options.ts). */
  imageFlag?: string;
}

export async function waitForPodReady(
  kube: KubeConnection,
  namespace: string,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
  hint: PodHint = {},
): Promise<void> {
  const what = hint.what ?? 'helper pod';
  const imageFlag = hint.imageFlag ?? '--helper-image';
  const core = kube.config.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let waitingReason = '';
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const pod = await kube.call({ verb: 'get', resource: 'pods', name, namespace }, () =>
      core.readNamespacedPod({ name, namespace }),
    );
    if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
      const reason = pod.status.reason ?? pod.status.message ?? 'no reason given';
      throw new UserError(
        `${what} "${name}" stopped (${pod.status.phase}: ${reason})`,
        `check the image (${imageFlag}) and kubectl describe pod`,
      );
    }
    const status = pod.status?.containerStatuses?.[0];
    const waiting = status?.state?.waiting;
    if (waiting?.reason && /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason)) {
      throw new UserError(
        `${what} "${name}" cannot start: ${waiting.reason} for image "${status!.image}"`,
        `pass an image the cluster can pull with ${imageFlag}`,
      );
    }
    if (waiting?.reason === 'CreateContainerConfigError') {
      throw new UserError(
        `${what} "${name}" cannot start: ${waiting.message ?? waiting.reason}`,
        'check the Secret or ConfigMap it names exists with that key (kubectl describe pod)',
      );
    }
    // On a node, its volume not attached there: the attach-detach controller says why in an event.
    if (pod.spec?.nodeName && pod.status?.phase === 'Pending') {
      const multiAttach = await multiAttachError(kube, pod, what);
      if (multiAttach) throw multiAttach;
    }
    waitingReason =
      waiting?.reason ??
      pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message ??
      waitingReason;
    await sleep(300, undefined, { signal });
  }
  throw new UserError(
    `${what} "${name}" was not Ready within ${formatDuration(timeoutMs)}${waitingReason ? ` (${waitingReason})` : ''}`,
    'check kubectl describe pod, or raise --timeout',
  );
}

/**
 * Deletes a pod and waits until it is gone: its kubelet has stopped its container (SIGTERM, then SIGKILL after
 * its terminationGracePeriodSeconds), so nothing in it writes to its volume any more.
 */
export async function deletePod(kube: KubeConnection, namespace: string, name: string): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const deleted = await kube
    .call({ verb: 'delete', resource: 'pods', name, namespace }, () => core.deleteNamespacedPod({ name, namespace }))
    .catch(ignoreNotFound);
  if (!deleted) return;
  const deadline = Date.now() + POD_STOP_TIMEOUT_MS;
  for (;;) {
    const pod = await kube
      .call({ verb: 'get', resource: 'pods', name, namespace }, () => core.readNamespacedPod({ name, namespace }))
      .catch(ignoreNotFound);
    if (!pod || pod.metadata?.uid !== deleted.metadata?.uid) return;
    if (Date.now() > deadline)
      throw new UserError(
        `pod ${name} is still terminating ${formatDuration(POD_STOP_TIMEOUT_MS)} after its deletion ` +
          '(its node has not confirmed that its container stopped)',
        `check its node (kubectl describe pod ${name} -n ${namespace}); the pod goes once the node confirms`,
      );
    await sleep(250);
  }
}

/** How long a deleted pod may take to stop: its grace period is 1 or 10 s (buildHelperPod), its node may be slow. */
const POD_STOP_TIMEOUT_MS = 60_000;

/** Whether run `runId` still has a pod that runs or may run (not ended, not being deleted): it is not over. */
export async function runHasLivePod(kube: KubeConnection, namespace: string, runId: string): Promise<boolean> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const pods = await kube.call({ verb: 'list', resource: 'pods', namespace }, () =>
    core.listNamespacedPod({ namespace, labelSelector: `${RUN_LABEL}=${runId}` }),
  );
  return pods.items.some(
    (pod) => !pod.metadata?.deletionTimestamp && !['Failed', 'Succeeded'].includes(pod.status?.phase ?? ''),
  );
}

/**
 * Why the helper pod can no longer serve exec ("was deleted", "stopped (Failed)"),
 * or undefined while it can (or the API cannot tell).
 */
export async function helperPodGone(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const core = kube.config.makeApiClient(CoreV1Api);
  try {
    const pod = await kube
      .call({ verb: 'get', resource: 'pods', name, namespace }, () => core.readNamespacedPod({ name, namespace }))
      .catch(ignoreNotFound);
    if (!pod || pod.metadata?.deletionTimestamp) return 'was deleted';
    if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')
      return `stopped (${pod.status.phase}${pod.status.reason ? `: ${pod.status.reason}` : ''})`;
    return undefined;
  } catch {
    return undefined;
  }
}
