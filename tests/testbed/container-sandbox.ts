// What a container runtime makes of a container's securityContext, for the bed's two "kubelets"
// (the job-runner, which runs the operator's Job pods, and kwok's exec through exec-sandbox.sh):
// the user, groups and capabilities the process gets, and the arguments of pod-sandbox.sh.
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT } from './paths.ts';

export const SANDBOX_SCRIPT = join(REPO_ROOT, 'tests', 'testbed', 'pod-sandbox.sh');

/** A container a kubelet refuses to start (CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

/** containerd's default capabilities: what a container has unless its securityContext drops them. */
const RUNTIME_DEFAULT_CAPS = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

export interface ContainerUser {
  uid: number;
  gid: number;
  fsGroup?: number;
  /** Supplementary groups: fsGroup and supplementalGroups. */
  groups: number[];
}

/** The container's user as the kubelet works it out: container securityContext, else the pod's, else root. */
export function containerUser(pod: V1Pod, container: V1Container): ContainerUser {
  const podCtx = pod.spec?.securityContext ?? {};
  const ctx = container.securityContext ?? {};
  const uid = ctx.runAsUser ?? podCtx.runAsUser ?? 0;
  const gid = ctx.runAsGroup ?? podCtx.runAsGroup ?? 0;
  const fsGroup = podCtx.fsGroup;
  const groups = [...new Set([...(fsGroup !== undefined ? [fsGroup] : []), ...(podCtx.supplementalGroups ?? [])])];
  if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) && uid === 0)
    throw new ContainerConfigError('container has runAsNonRoot and image will run as root');
  return { uid, gid, fsGroup, groups };
}

/** The capabilities the container's process has: the runtime's defaults, less drop, plus add. */
export function containerCapabilities(container: V1Container): string[] {
  const caps = container.securityContext?.capabilities ?? {};
  const drop = new Set((caps.drop ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, '')));
  const kept = drop.has('ALL') ? [] : RUNTIME_DEFAULT_CAPS.filter((c) => !drop.has(c));
  const added = (caps.add ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
  return [...new Set([...kept, ...added])].sort();
}

/**
 * setpriv arguments for the container's privileges. A non-root process loses every capability at
 * exec (a runtime sets no ambient ones); root keeps those of its bounding set, which is the list.
 */
export function privilegeArgs(container: V1Container): string[] {
  const caps = containerCapabilities(container).map((c) => `+${c.toLowerCase()}`);
  const args = ['--inh-caps=-all', `--bounding-set=${['-all', ...caps].join(',')}`];
  if (container.securityContext?.allowPrivilegeEscalation === false) args.push('--no-new-privs');
  return args.flatMap((arg) => ['--setpriv', arg]);
}

export interface SandboxMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** pod-sandbox.sh's arguments (without the command) for one container. */
export function sandboxArgs(
  scratch: string,
  pod: V1Pod,
  container: V1Container,
  mounts: SandboxMount[],
  extra: string[] = [],
): string[] {
  const user = containerUser(pod, container);
  return [
    scratch,
    String(user.uid),
    String(user.gid),
    user.groups.join(','),
    String(container.securityContext?.readOnlyRootFilesystem === true),
    container.workingDir ?? '/',
    ...extra,
    ...mounts.flatMap((m) => [
      '--mount',
      `${m.source}=${m.target.replace(/\/$/, '') || '/'}:${m.readOnly ? 'ro' : 'rw'}`,
    ]),
    ...privilegeArgs(container),
  ];
}

/** What a kubelet does to a volume for fsGroup (SetVolumeOwnership): group, group rw, setgid folders. */
export function applyFsGroup(folder: string, fsGroup: number, readOnly: boolean): void {
  const mask = readOnly ? 0o440 : 0o660;
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    lchownSync(path, -1, fsGroup);
    if (stat.isDirectory()) {
      chmodSync(path, (stat.mode & 0o7777) | mask | 0o110 | 0o2000);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else {
      chmodSync(path, (stat.mode & 0o7777) | mask);
    }
  };
  walk(folder);
}
