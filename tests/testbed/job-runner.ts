// The kubelet of the DataMover operator's Job pods and of rclone servers, run as its own process by
// the bed. kwok only pretends to run containers; for a pod that carries JOB_RUNNER_LABEL (a Job's
// pod with the operator's image, in a namespace where the real operator acts; or a pod of rclone's
// image that declares ports) this process does what a kubelet and a container runtime would:
// - resolves the container's env and envFrom from the API (a missing Secret, ConfigMap or
//   key is CreateContainerConfigError: the pod stays Pending, as with a kubelet);
// - applies the pod's fsGroup to its volumes (recursive chgrp, group rw, setgid folders:
//   what a kubelet does for a CSI driver with fsGroupPolicy File) and makes its emptyDirs;
// - runs the image's ENTRYPOINT (the operator's dataMoverImage/entrypoint.sh, unmodified)
//   in a private mount namespace where / is an overlay of the host's, the PVC's folder is
//   at its mountPath and the pinned rclone is the image's rclone, as the container's user
//   (tests/testbed/pod-sandbox.sh);
// - writes its output in the CRI log format to a file served through a kwok Logs object;
// - reports the pod Running, then Succeeded or Failed with the container's exit code, so
//   that the Job controller counts it and retries;
// - stops a deleted pod as a kubelet does: SIGTERM to the container's process, SIGKILL to what is left once
//   it ended or its grace period (deletionGracePeriodSeconds) is over, and only then removes the pod from
//   the API (kwok's pod-delete stage leaves these pods alone): a pod that is gone no longer writes anything;
// - for a pod that declares ports: runs it in a network namespace of its own and wires kwok's
//   port-forward to its loopback (wirePortForward).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Container,
  type V1Pod,
  type V1PodCondition,
  type V1ProjectedVolumeSource,
} from '@kubernetes/client-node';
import { isNotFound, patchPodStatus } from './api-writes.ts';
import { JOB_RUNNER_LABEL, RCLONE_IMAGE_PREFIX } from './cluster.ts';
import { writeRefusal } from './kubelet-checks.ts';
import {
  applyFsGroup,
  ContainerConfigError as ConfigError,
  containerUser as userOf,
  SANDBOX_SCRIPT,
  sandboxArgs,
} from './container-sandbox.ts';
import { operatorEntrypoint, REPO_ROOT, statePaths } from './paths.ts';
import { log } from './controller-loop.ts';
import { reconcileOnChange, watched } from './informers.ts';
import { pvFolder } from './volume-folder.ts';

const paths = statePaths(process.argv[2]);
const kc = new KubeConfig();
kc.loadFromFile(paths.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const LOGS = { group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'logs' };
/** The image's PATH (alpine's default). */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const rclone = process.env.DATAMOVER_RCLONE_NEW ?? '';
/** Relays a port-forward's stream to a port on the pod's loopback (run inside the pod's network namespace). */
const PORT_RELAY = join(REPO_ROOT, 'tests', 'testbed', 'port-relay.ts');
const PORT_FORWARDS = { group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'portforwards' };

/** What the images the job-runner runs hold (their Dockerfiles): the ENTRYPOINT, and the files that stand in. */
function imageOf(container: V1Container): { entrypoint: string[]; files: string[] } {
  if (container.image?.startsWith(RCLONE_IMAGE_PREFIX))
    return { entrypoint: ['rclone'], files: ['--mount', `${rclone}=/usr/local/bin/rclone:ro`] };
  return {
    entrypoint: ['/entrypoint.sh'],
    files: ['--copy', `${operatorEntrypoint()}=/entrypoint.sh`, '--mount', `${rclone}=/usr/bin/rclone:ro`],
  };
}

interface Running {
  uid: string;
  namespace: string;
  name: string;
  child?: ChildProcess;
  /** Resolves when the container's process has ended. */
  ended?: Promise<void>;
  done?: boolean;
  deleted?: boolean;
  /** While terminate() runs: the state stays for the shutdown's kill. */
  stopping?: boolean;
}
const pods = new Map<string, Running>();

function decode(data: Record<string, string> | undefined, key: string, isSecret: boolean): string | undefined {
  const value = data?.[key];
  if (value === undefined) return undefined;
  return isSecret ? Buffer.from(value, 'base64').toString('utf8') : value;
}

async function readSource(kind: 'secret' | 'configmap', namespace: string, name: string) {
  try {
    if (kind === 'secret') return (await core.readNamespacedSecret({ name, namespace })).data ?? {};
    const cm = await core.readNamespacedConfigMap({ name, namespace });
    return cm.data ?? {};
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** $(VAR) references to variables defined before, $$(VAR) escaped, as the kubelet expands them. */
function expand(value: string, env: Map<string, string>): string {
  return value.replace(/\$\$|\$\(([^)]+)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return env.has(name!) ? env.get(name!)! : match;
  });
}

/** The container's environment as a kubelet builds it: envFrom in order, then env (which wins). */
async function containerEnv(pod: V1Pod, container: V1Container): Promise<Map<string, string>> {
  const namespace = pod.metadata!.namespace!;
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const kind = from.secretRef ? 'secret' : 'configmap';
    if (!ref) continue;
    const data = await readSource(kind, namespace, ref.name!);
    if (!data) {
      if (ref.optional) continue;
      throw new ConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const key of Object.keys(data)) {
      if (key.includes('=')) continue; // not a variable name: the kubelet skips it
      env.set(`${from.prefix ?? ''}${key}`, decode(data, key, kind === 'secret')!);
    }
  }
  for (const item of container.env ?? []) {
    const from = item.valueFrom;
    if (!from) {
      env.set(item.name, expand(item.value ?? '', env));
      continue;
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (keyRef) {
      const kind = from.secretKeyRef ? 'secret' : 'configmap';
      const data = await readSource(kind, namespace, keyRef.name!);
      const value = decode(data, keyRef.key, kind === 'secret');
      if (value !== undefined) env.set(item.name, value);
      else if (!keyRef.optional)
        throw new ConfigError(
          data
            ? `couldn't find key ${keyRef.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ` +
                `${namespace}/${keyRef.name}`
            : `${kind} "${keyRef.name}" not found`,
        );
      continue;
    }
    const field = from.fieldRef?.fieldPath;
    const fields: Record<string, string | undefined> = {
      'metadata.name': pod.metadata?.name,
      'metadata.namespace': pod.metadata?.namespace,
      'metadata.uid': pod.metadata?.uid,
      'spec.nodeName': pod.spec?.nodeName,
      'spec.serviceAccountName': pod.spec?.serviceAccountName,
    };
    if (field && field in fields) env.set(item.name, fields[field] ?? '');
    else throw new ConfigError(`env ${item.name}: ${field ?? 'resourceFieldRef'} is not supported by the test bed`);
  }
  return env;
}

/** The host folder behind each of the container's volumeMounts, or undefined while a PVC is not bound yet. */
async function mountsOf(pod: V1Pod, container: V1Container, podDir: string) {
  const mounts = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    let source: string;
    if (volume?.persistentVolumeClaim) {
      const claim = await core.readNamespacedPersistentVolumeClaim({
        name: volume.persistentVolumeClaim.claimName,
        namespace: pod.metadata!.namespace!,
      });
      if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return undefined;
      const pv = await core.readPersistentVolume({ name: claim.spec.volumeName });
      const folder = pvFolder(pv);
      if (!folder) throw new ConfigError(`volume ${mount.name}: PV ${pv.metadata?.name} has no folder`);
      source = folder;
    } else if (volume?.emptyDir) {
      source = join(podDir, 'volumes', mount.name);
      mkdirSync(source, { recursive: true });
      chmodSync(source, 0o777);
    } else if (volume?.projected) {
      source = join(podDir, 'volumes', mount.name);
      await writeProjected(pod, volume.projected, source);
    } else {
      throw new ConfigError(
        `volume ${mount.name}: only persistentVolumeClaim, emptyDir and projected are supported by the test bed`,
      );
    }
    const readOnly = Boolean(mount.readOnly || volume.persistentVolumeClaim?.readOnly);
    mounts.push({ source: join(source, mount.subPath ?? ''), volumeRoot: source, target: mount.mountPath, readOnly });
  }
  return mounts;
}

/** A projected volume (the service account's token, CA and namespace that every pod gets) as files. */
async function writeProjected(pod: V1Pod, projected: V1ProjectedVolumeSource, folder: string): Promise<void> {
  const namespace = pod.metadata!.namespace!;
  mkdirSync(folder, { recursive: true });
  for (const source of projected.sources ?? []) {
    if (source.serviceAccountToken) {
      const request = await core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? 'default',
        namespace,
        body: {
          spec: {
            audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [],
            expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3607,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
          },
        },
      });
      writeFileSync(join(folder, source.serviceAccountToken.path), request.status?.token ?? '', { mode: 0o644 });
    } else if (source.configMap) {
      const data = await readSource('configmap', namespace, source.configMap.name!);
      if (!data && !source.configMap.optional) throw new ConfigError(`configmap "${source.configMap.name}" not found`);
      for (const item of source.configMap.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key })))
        writeFileSync(join(folder, item.path), data?.[item.key] ?? '', { mode: 0o644 });
    } else if (source.downwardAPI) {
      for (const item of source.downwardAPI.items ?? [])
        if (item.fieldRef?.fieldPath === 'metadata.namespace') writeFileSync(join(folder, item.path), namespace);
    }
  }
}

function conditions(ready: boolean, reason?: string): V1PodCondition[] {
  const now = new Date();
  const types = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady'];
  return types.map((type) => ({
    type,
    status: ready || type === 'Initialized' || type === 'PodReadyToStartContainers' ? 'True' : 'False',
    lastTransitionTime: now,
    ...(reason && !ready && (type === 'Ready' || type === 'ContainersReady') ? { reason } : {}),
  }));
}

async function start(state: Running, pod: V1Pod): Promise<void> {
  const container = pod.spec!.containers[0]!;
  if (pod.spec!.containers.length !== 1) throw new ConfigError('only pods with one container are supported');
  const podDir = join(paths.scratch, state.namespace, `${state.name}-${state.uid}`);
  let env: Map<string, string>;
  let user: ReturnType<typeof userOf>;
  let mounts: Awaited<ReturnType<typeof mountsOf>>;
  try {
    env = await containerEnv(pod, container);
    user = userOf(pod, container);
    mounts = await mountsOf(pod, container, podDir);
  } catch (err) {
    if (err instanceof ConfigError)
      return writeRefusal(core, pod, {
        container: container.name,
        image: container.image ?? '',
        reason: 'CreateContainerConfigError',
        message: err.message,
      });
    throw err;
  }
  if (!mounts) return; // a PVC not bound yet: next tick
  for (const mount of mounts)
    if (user.fsGroup !== undefined) applyFsGroup(mount.volumeRoot, user.fsGroup, mount.readOnly);

  const logFile = join(paths.podLogs, `${state.namespace}_${state.name}_${state.uid}`, `${container.name}.log`);
  mkdirSync(join(logFile, '..'), { recursive: true });
  const out = createWriteStream(logFile, { flags: 'a' });
  await custom.createNamespacedCustomObject({
    ...LOGS,
    namespace: state.namespace,
    body: {
      apiVersion: `${LOGS.group}/${LOGS.version}`,
      kind: 'Logs',
      metadata: {
        name: state.name,
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Pod', name: state.name, uid: state.uid, blockOwnerDeletion: false },
        ],
      },
      spec: { logs: [{ containers: [container.name], logsFile: logFile, follow: true }] },
    },
  });

  const scratch = join(podDir, 'sandbox');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const image = imageOf(container);
  const command = [...(container.command ?? image.entrypoint), ...(container.args ?? [])];
  // A server gets a network namespace of its own, as a pod does: its loopback is its own, and only a
  // port-forward reaches it. (The operator's Job pods share the host's, where the bed's S3 server is.)
  const ports = (container.ports ?? []).map((p) => p.containerPort);
  const network = ports.length ? ['--net'] : [];
  const loopback = ports.length ? ['--loopback', 'up'] : [];
  const args = [
    '--mount',
    ...network,
    '--propagation',
    'private',
    '--',
    '/bin/bash',
    SANDBOX_SCRIPT,
    ...sandboxArgs(scratch, pod, container, mounts, [...image.files, ...loopback]),
    '--',
    ...command,
  ];
  const childEnv = { PATH: IMAGE_PATH, HOSTNAME: state.name, HOME: '/', ...Object.fromEntries(env) };
  const child = spawn('unshare', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  state.child = child;
  state.ended = new Promise((resolve) => child.once('exit', () => resolve()));
  const startedAt = new Date();
  const streams = (['stdout', 'stderr'] as const).map(
    (name) =>
      new Promise<void>((resolve) => {
        const lines = createInterface({ input: child[name]! });
        lines.on('line', (line) => out.write(`${new Date().toISOString()} ${name} F ${line}\n`));
        lines.on('close', resolve);
      }),
  );
  log(`${state.namespace}/${state.name}: started ${command.join(' ')} as ${user.uid}:${user.gid} (pid ${child.pid})`);
  if (ports.length) await wirePortForward(state, ports, child.pid!);
  await patchPodStatus(core, state, {
    phase: 'Running',
    startTime: startedAt,
    conditions: conditions(true),
    containerStatuses: [
      {
        name: container.name,
        image: container.image,
        imageID: '',
        containerID: `testbed://${child.pid}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt } },
      },
    ],
  });
  child.on('close', (code, signal) => {
    void Promise.all(streams).then(async () => {
      out.end();
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      state.done = true;
      if (state.deleted) return; // a deleted pod's status is not written
      log(`${state.namespace}/${state.name}: exited ${exitCode}`);
      rmSync(scratch, { recursive: true, force: true });
      await patchPodStatus(core, state, {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions: conditions(false, exitCode === 0 ? 'PodCompleted' : 'PodFailed'),
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            containerID: `testbed://${child.pid}`,
            ready: false,
            started: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode,
                reason: exitCode === 0 ? 'Completed' : 'Error',
                startedAt,
                finishedAt: new Date(),
              },
            },
          },
        ],
      }).catch((err) => log(`${state.namespace}/${state.name}: status: ${(err as Error).message.split('\n')[0]}`));
    });
  });
}

/**
 * kwok's PortForward for the pod: each declared port is relayed to that port on the pod's own loopback,
 * as a kubelet's port-forward connects inside the pod's network namespace (nothing listening: refused).
 */
async function wirePortForward(state: Running, ports: number[], pid: number): Promise<void> {
  const forwards = ports.map((port) => ({
    ports: [port],
    command: ['nsenter', `--net=/proc/${pid}/ns/net`, '--', process.execPath, PORT_RELAY, String(port)],
  }));
  await custom.createNamespacedCustomObject({
    ...PORT_FORWARDS,
    namespace: state.namespace,
    body: {
      apiVersion: `${PORT_FORWARDS.group}/${PORT_FORWARDS.version}`,
      kind: 'PortForward',
      metadata: {
        name: state.name,
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Pod', name: state.name, uid: state.uid, blockOwnerDeletion: false },
        ],
      },
      spec: { forwards },
    },
  });
}

function kill(state: Running): void {
  const pid = state.child?.pid;
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL'); // the group: what the container's pid 1 left running dies with it
  } catch {
    // already gone
  }
}

/**
 * What a kubelet does for a pod being deleted: SIGTERM to the container's process (its pid 1), the rest of the
 * container killed when it ends or when `graceSeconds` are over; then the pod removed from the API (`uid`'s).
 */
async function terminate(state: Running, graceSeconds: number, uid?: string): Promise<void> {
  state.deleted = true;
  state.stopping = true;
  try {
    await stopContainer(state, graceSeconds, uid);
  } finally {
    state.stopping = false;
  }
}

async function stopContainer(state: Running, graceSeconds: number, uid?: string): Promise<void> {
  if (state.child?.pid && !state.done && state.ended) {
    log(`${state.namespace}/${state.name}: deleted, stopping its process (grace ${graceSeconds}s)`);
    try {
      process.kill(state.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const graceOver = new Promise<void>((resolve) => setTimeout(resolve, graceSeconds * 1000).unref());
    await Promise.race([state.ended, graceOver]);
  }
  kill(state); // a container's processes end with its pid 1
  if (uid === undefined) return;
  await core
    .deleteNamespacedPod({
      name: state.name,
      namespace: state.namespace,
      // In the body: the API server reads no query parameters of a DELETE that has one.
      body: { gracePeriodSeconds: 0, preconditions: { uid } },
    })
    .catch((err: unknown) => {
      if (isNotFound(err)) return;
      log(`${state.namespace}/${state.name}: delete: ${(err as Error).message.split('\n')[0]}; trying again`);
      state.deleted = false; // the next reconcile tries again (its process is stopped already)
    });
}

const runnerPods = await watched(
  kc,
  '/api/v1/pods',
  () => core.listPodForAllNamespaces({ labelSelector: JOB_RUNNER_LABEL }),
  JOB_RUNNER_LABEL,
);

async function reconcile(): Promise<void> {
  const seen = new Set<string>();
  for (const pod of runnerPods.list()) {
    const uid = pod.metadata!.uid!;
    seen.add(uid);
    let state = pods.get(uid);
    if (pod.metadata?.deletionTimestamp) {
      if (!state?.deleted) {
        state ??= { uid, namespace: pod.metadata.namespace!, name: pod.metadata.name! };
        pods.set(uid, state);
        void terminate(state, pod.metadata.deletionGracePeriodSeconds ?? 30, uid);
      }
      continue;
    }
    if (!state) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      state = { uid, namespace: pod.metadata!.namespace!, name: pod.metadata!.name! };
      pods.set(uid, state);
    }
    // Scheduled, and no gate left (the exec wiring's): the kubelet's turn.
    if (state.child || !pod.spec?.nodeName || (pod.spec.schedulingGates?.length ?? 0) > 0) continue;
    try {
      await start(state, pod);
    } catch (err) {
      log(`${state.namespace}/${state.name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  for (const [uid, state] of pods) {
    if (seen.has(uid) || state.stopping) continue;
    // Removed from the API at once (a forced deletion): a kubelet still gives its containers 2 s.
    if (!state.deleted) void terminate(state, 2);
    else pods.delete(uid);
  }
}

mkdirSync(paths.podLogs, { recursive: true });
log('job-runner started');
await reconcileOnChange(reconcile, { gapMs: 20, idleMs: 500 });
for (const state of pods.values()) kill(state);
process.exit(0); // the watch would keep it alive
