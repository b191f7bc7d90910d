// What the e2e tests use of the bed: its description, kubectl and the plugin
// run as real processes, and a namespace of their own per test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Result } from 'execa';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { readBed, type Bed } from '../../testbed/bed.ts';
import { REPO_ROOT, statePaths } from '../../testbed/paths.ts';

export function bed(): Bed {
  const current = readBed();
  if (!current) throw new Error('the test bed is not up');
  return current;
}

export function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(bed().kubeconfig);
  return config;
}

/** The core API of the bed, in this process: for fixtures, where a kubectl process each would cost a core's time. */
let coreApi: CoreV1Api | undefined;
export function core(): CoreV1Api {
  coreApi ??= kubeConfig().makeApiClient(CoreV1Api);
  return coreApi;
}

/** PATH as a user of the plugin has it: kubectl and kubectl-datamover on it. */
export function userPath(): string {
  return [join(REPO_ROOT, 'bin'), join(bed().kubectl, '..'), process.env.PATH].join(':');
}

export function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: userPath(), KUBECONFIG: bed().kubeconfig, HOME: process.env.HOME ?? '/root', ...extra };
}

export async function kubectl(
  args: string[],
  options: { input?: string; reject?: boolean; binary?: boolean } = {},
): Promise<Result> {
  return execa('kubectl', args, {
    env: userEnv(),
    extendEnv: false,
    input: options.input,
    reject: options.reject ?? true,
    ...(options.binary ? { encoding: 'buffer' as const } : {}),
  });
}

/** Runs `kubectl datamover ...` through kubectl's plugin discovery, as a user would. */
export async function datamover(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  return execa('kubectl', ['datamover', ...args], {
    env: userEnv(options.env),
    extendEnv: false,
    input: options.input,
    reject: false,
  });
}

export async function applyYaml(yaml: string): Promise<void> {
  await kubectl(['apply', '-f', '-'], { input: yaml });
}

/** What a run left in the namespace: PVCs and pods labelled as the plugin's, one name per line. */
export async function managedLeftovers(namespace: string): Promise<string> {
  return String(
    (
      await kubectl([
        'get',
        'pvc,pod',
        '-n',
        namespace,
        '-l',
        'app.kubernetes.io/managed-by=kubectl-datamover',
        '-o',
        'name',
      ])
    ).stdout,
  ).trim();
}

export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kubectl-datamover';

/** The names of the pods labelled as the plugin's in the namespace, straight from the API. */
export async function managedPods(namespace: string): Promise<string[]> {
  const pods = await core().listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR });
  return pods.items.map((pod) => pod.metadata!.name!);
}

/**
 * Polls the API until a pod of the plugin exists in the namespace, and returns
 * its name; fails at once when `run` (the plugin's process) ends first.
 */
export async function waitForManagedPod(
  namespace: string,
  run?: PromiseLike<{ exitCode?: number; stderr?: unknown }>,
  timeoutMs = 60_000,
): Promise<string> {
  const ended = run ? Promise.resolve(run) : new Promise<never>(() => {});
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const [pod] = await managedPods(namespace);
    if (pod) return pod;
    const result = await Promise.race([ended, sleep(100).then(() => undefined)]);
    if (result)
      throw new Error(`the run ended (exit ${result.exitCode}) before its pod appeared: ${String(result.stderr)}`);
  }
  throw new Error(`no pod of the plugin appeared in namespace "${namespace}" within ${timeoutMs / 1000}s`);
}

/** Polls the API until the plugin has no pod left in the namespace; what is left when the time is up. */
export async function managedPodsLeft(namespace: string, timeoutMs = 20_000): Promise<string[]> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
    const pods = await managedPods(namespace);
    if (pods.length === 0 || Date.now() >= deadline) return pods;
  }
}

/** A fresh namespace, deleted (with everything in it) after the test. */
export function useNamespace(prefix = 't'): { name: string } {
  const ns = { name: '' };
  beforeEach(async () => {
    ns.name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await core().createNamespace({ body: { metadata: { name: ns.name } } });
    await waitFor(`the default ServiceAccount of ${ns.name}`, () =>
      core()
        .readNamespacedServiceAccount({ name: 'default', namespace: ns.name })
        .then(
          () => true,
          () => undefined,
        ),
    );
  });
  afterEach(async () => {
    await core()
      .deleteNamespace({ name: ns.name })
      .catch(() => undefined);
  });
  return ns;
}

export async function createBoundPvc(
  namespace: string,
  name: string,
  options: { storageClass?: string; dataSource?: string; size?: string } = {},
): Promise<string> {
  await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${options.storageClass ?? bed().storageClasses.local}
  resources: {requests: {storage: ${options.size ?? '1Gi'}}}
${options.dataSource ? `  dataSource: {kind: PersistentVolumeClaim, name: ${options.dataSource}}\n` : ''}`);
  await waitFor(`PVC ${namespace}/${name} to be Bound`, async () => {
    const claim = await core().readNamespacedPersistentVolumeClaim({ name, namespace });
    return claim.status?.phase === 'Bound' ? true : undefined;
  });
  return volumeFolder(namespace, name);
}

/** The local folder that backs a bound PVC (the bed's provisioner made it). */
export async function volumeFolder(namespace: string, pvc: string): Promise<string> {
  const claim = await core().readNamespacedPersistentVolumeClaim({ name: pvc, namespace });
  const volume = await core().readPersistentVolume({ name: claim.spec?.volumeName ?? '' });
  return volume.spec?.hostPath?.path ?? '';
}

export async function createPodOnPvc(
  namespace: string,
  name: string,
  pvc: string,
  options: { readOnly?: boolean } = {},
): Promise<void> {
  await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  containers:
  - name: main
    image: busybox
    workingDir: /data
    volumeMounts: [{name: data, mountPath: /data, readOnly: ${options.readOnly ?? false}}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: ${pvc}, readOnly: ${options.readOnly ?? false}}
`);
  await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', `pod/${name}`, '-n', namespace]);
}

export interface LocalProcess {
  pid: number;
  /** The process name (comm). */
  command: string;
  /** argv, NULs turned into spaces. */
  cmdline: string;
}

/** Every process of this machine now, with its parent's pid. */
function processTable(): Map<number, LocalProcess & { ppid: number }> {
  const table = new Map<number, LocalProcess & { ppid: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      table.set(Number(entry), { pid: Number(entry), ppid, command, cmdline });
    } catch {
      // the process ended while the table was read
    }
  }
  return table;
}

/** The processes that descend from any of `roots` (the roots included), as they are now. */
export function processesUnder(roots: number[]): LocalProcess[] {
  const table = processTable();
  const under = (pid: number): boolean => {
    for (let p: number | undefined = pid; p; p = table.get(p)?.ppid) if (roots.includes(p)) return true;
    return false;
  };
  return [...table.values()]
    .filter((p) => under(p.pid))
    .map(({ pid, command, cmdline }) => ({ pid, command, cmdline }));
}

/** Local `kubectl port-forward` processes into a namespace (what --transport port-forward runs). */
export function portForwardsInto(namespace: string): LocalProcess[] {
  return [...processTable().values()]
    .filter((p) => p.command === 'kubectl' && / port-forward /.test(p.cmdline) && p.cmdline.includes(` ${namespace} `))
    .map(({ pid, command, cmdline }) => ({ pid, command, cmdline }));
}

/** The process of a pod's container that the bed's job-runner runs (its process group holds the container's). */
export async function containerPid(namespace: string, pod: string): Promise<number> {
  const status = (await core().readNamespacedPod({ name: pod, namespace })).status;
  const pid = Number(/^testbed:\/\/(\d+)$/.exec(status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
  assert.ok(pid > 0, `pod ${pod} has no container process the bed runs`);
  return pid;
}

/**
 * Kills a pod's container at once, all its processes, as the kernel's OOM killer or a node's crash would (no
 * SIGTERM, nothing of its own run): the pod's kubelet (the bed's job-runner) then reports it Failed.
 */
export async function killContainer(namespace: string, pod: string): Promise<void> {
  process.kill(-(await containerPid(namespace, pod)), 'SIGKILL');
  await eventually(async () => {
    const { phase } = (await core().readNamespacedPod({ name: pod, namespace })).status ?? {};
    assert.equal(phase, 'Failed', `pod ${pod} is not Failed`);
  });
}

/**
 * The commands exec'd into the pods of a namespace: the bed runs each as a local process and
 * records its pid in the pod's folder (see tests/testbed/exec-wiring.ts).
 */
export function podExecRoots(namespace: string): number[] {
  const podsDir = join(statePaths(bed().dir).scratch, namespace);
  if (!existsSync(podsDir)) return [];
  return readdirSync(podsDir).flatMap((pod) => {
    const execs = join(podsDir, pod, 'execs');
    return existsSync(execs) ? readdirSync(execs).map(Number) : [];
  });
}

/** The commands exec'd into the pods of a namespace, and their children. */
export function podProcesses(namespace: string): LocalProcess[] {
  return processesUnder(podExecRoots(namespace));
}

/**
 * Keeps watch on a command started with reject: false, for tests that act on it mid-way:
 * `assertRunning` fails, with its exit code and last error line, once it has ended.
 */
export function watchRun(run: Promise<Result>): { readonly ended: boolean; assertRunning(before: string): void } {
  let result: Result | undefined;
  void run.then((ended) => {
    result = ended;
  });
  return {
    get ended() {
      return result !== undefined;
    },
    assertRunning(before: string) {
      if (!result) return;
      const last = String(result.stderr).trim().split('\n').at(-1);
      throw new Error(`it ended (exit code ${result.exitCode}) before ${before}; it said: ${last}`);
    },
  };
}

/** Polls `check` every 100 ms until it returns something other than undefined; fails with `what` after the time. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const value = await check();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

/** Runs `check` until it stops throwing; its last error when the time is up. */
export async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(250)) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}
