// kwok's Exec for a pod: exec into one of its containers runs the command as a container runtime
// would (exec-sandbox.sh, then pod-sandbox.sh): as the container's user and groups, with only its
// capabilities, its PVCs and emptyDirs at their mount paths (read-only mounts read-only), a
// read-only root when it asks for one, in its workingDir. The bed's busybox applets and pinned
// rclone stand in for the image's files.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  CoreV1Api,
  CustomObjectsApi,
  V1Container,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import { log } from './controller-loop.ts';
import { applyFsGroup, containerUser, type SandboxMount, sandboxArgs } from './container-sandbox.ts';
import { REPO_ROOT, type StatePaths } from './paths.ts';
import { pvFolder } from './volume-folder.ts';

export const EXEC = { group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'execs' };
const WRAPPER = join(REPO_ROOT, 'tests', 'testbed', 'exec-sandbox.sh');
/** Where exec-sandbox.sh records each command's pid and start time, in the pod's folder. */
const EXEC_PIDS = 'execs';
/** Where the image's commands are: the host's busybox applets, and the pinned rclone (for rclone images). */
const IMAGE_PATH = '/bed/busybox:/bed/rclone';

function imageFiles(paths: StatePaths): string[] {
  const rclone = dirname(process.env.DATAMOVER_RCLONE_NEW ?? '/nonexistent/rclone');
  return ['--mount', `${paths.busybox}=/bed/busybox:ro`, '--mount', `${rclone}=/bed/rclone:ro`];
}

/** The host folders behind the container's volume mounts, or undefined while a PVC is not bound yet. */
function mountsOf(
  pod: V1Pod,
  container: V1Container,
  podDir: string,
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): Array<SandboxMount & { volumeRoot: string }> | undefined {
  const namespace = pod.metadata!.namespace!;
  const mounts = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    let root: string;
    if (volume?.persistentVolumeClaim) {
      const claimName = volume.persistentVolumeClaim.claimName;
      const claim = claims.find((c) => c.metadata?.namespace === namespace && c.metadata?.name === claimName);
      const folder = pvFolder(volumes.find((v) => v.metadata?.name === claim?.spec?.volumeName));
      if (!folder) return undefined;
      root = folder;
    } else if (volume?.emptyDir) {
      root = join(podDir, 'volumes', mount.name);
      mkdirSync(root, { recursive: true, mode: 0o777 });
    } else {
      continue; // projected service account files and the like: no command of the bed reads them
    }
    const readOnly = Boolean(mount.readOnly || volume.persistentVolumeClaim?.readOnly);
    mounts.push({ source: join(root, mount.subPath ?? ''), volumeRoot: root, target: mount.mountPath, readOnly });
  }
  return mounts;
}

/** The container's env values, secretKeyRef resolved. */
async function containerEnv(
  core: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
): Promise<Array<{ name: string; value: string }>> {
  const envs = [];
  for (const env of container.env ?? []) {
    if (env.name === 'PATH' || env.name === 'HOME') continue;
    const ref = env.valueFrom?.secretKeyRef;
    if (!ref) {
      envs.push({ name: env.name, value: env.value ?? '' });
      continue;
    }
    const secret = await core
      .readNamespacedSecret({ name: ref.name!, namespace: pod.metadata!.namespace! })
      .catch(() => undefined);
    const value = secret?.data?.[ref.key];
    if (value !== undefined) envs.push({ name: env.name, value: Buffer.from(value, 'base64').toString('utf8') });
  }
  return envs;
}

export async function wireExec(
  core: CoreV1Api,
  custom: CustomObjectsApi,
  paths: StatePaths,
  pod: V1Pod,
  claims: V1PersistentVolumeClaim[],
  volumes: V1PersistentVolume[],
): Promise<boolean> {
  const namespace = pod.metadata!.namespace!;
  const podDir = join(paths.scratch, namespace, `${pod.metadata!.name}-${pod.metadata!.uid}`);
  const execs = [];
  for (const container of pod.spec?.containers ?? []) {
    const mounts = mountsOf(pod, container, podDir, claims, volumes);
    if (!mounts) return false; // retried next tick, once the PVC is bound
    const fsGroup = containerUser(pod, container).fsGroup;
    if (fsGroup !== undefined) for (const m of mounts) applyFsGroup(m.volumeRoot, fsGroup, m.readOnly);
    const scratch = join(podDir, 'sandbox');
    mkdirSync(scratch, { recursive: true });
    const argsFile = join(podDir, `${container.name}.sandbox-args`);
    mkdirSync(join(podDir, EXEC_PIDS), { recursive: true });
    writeFileSync(argsFile, `${sandboxArgs(scratch, pod, container, mounts, imageFiles(paths)).join('\0')}\0`);
    const envs = [
      { name: 'PATH', value: IMAGE_PATH },
      { name: 'HOME', value: '/' },
      ...(await containerEnv(core, pod, container)),
      { name: 'KWOK_EXEC_WRAPPER', value: WRAPPER },
      { name: 'TESTBED_SANDBOX_ARGS', value: argsFile },
      { name: 'TESTBED_EXEC_PIDS', value: join(podDir, EXEC_PIDS) },
    ];
    execs.push({ containers: [container.name], local: { workDir: podDir, envs } });
  }
  await custom.createNamespacedCustomObject({
    ...EXEC,
    namespace,
    body: {
      apiVersion: `${EXEC.group}/${EXEC.version}`,
      kind: 'Exec',
      metadata: {
        name: pod.metadata!.name,
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata!.name!,
            uid: pod.metadata!.uid!,
            blockOwnerDeletion: false,
          },
        ],
      },
      spec: { execs },
    },
  });
  log(`wired exec for pod ${namespace}/${pod.metadata!.name}`);
  return true;
}

/** Whether the pod's containers have stopped for good (a kubelet has killed them, or they ended). */
export function hasStopped(pod: V1Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/**
 * Kills the commands exec'd into pods that are being deleted, are gone or have stopped (Failed, e.g.
 * past their activeDeadlineSeconds), as a kubelet stopping the containers does (a cut exec stream is
 * what the client then sees). A pid counts only while its process has the start time recorded with
 * it: a reused pid is left alone.
 */
export function killExecsOfGonePods(paths: StatePaths, pods: V1Pod[]): void {
  const live = new Set(
    pods
      .filter((p) => !p.metadata?.deletionTimestamp && !hasStopped(p))
      .map((p) => `${p.metadata?.name}-${p.metadata?.uid}`),
  );
  for (const namespace of readdirOrEmpty(paths.scratch)) {
    for (const podDir of readdirOrEmpty(join(paths.scratch, namespace))) {
      if (live.has(podDir)) continue;
      const pids = join(paths.scratch, namespace, podDir, EXEC_PIDS);
      for (const file of readdirOrEmpty(pids)) {
        const [pid, started] = readFileSync(join(pids, file), 'utf8').trim().split(' ');
        const stat = readFileOrEmpty(`/proc/${pid}/stat`);
        if (stat && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === started) {
          process.kill(Number(pid), 'SIGKILL');
          log(`killed pid ${pid}, exec'd into deleted or stopped pod ${namespace}/${podDir}`);
        }
        rmSync(join(pids, file), { force: true });
      }
    }
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
