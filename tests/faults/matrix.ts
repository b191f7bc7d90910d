// The fault matrix: each fault is caused for real on the bed while a local-mode
// backup or restore runs, and the faulted run itself is judged against what the
// README promises for that fault, before anything repairs it:
// - the fault happened (the process it kills was seen and killed, the pod was
//   deleted, the server stopped while the run was using it); else the case fails;
// - a run that exits 0 left every file, with the right bytes, at the destination
//   (backup) or in the volume (restore), and nothing else; a cut stream that the
//   README says resumes did resume (streamResumes > 0 in the run's -o json);
// - a run that fails does so only for faults the README says end the run, with a
//   non-zero exit and one `error: what; fix` line naming the fault, leaving
//   nothing partial under a final name;
// - nothing of the run is left in the cluster, and a re-run (the fault fixed)
//   brings the destination to byte-identical (bytes lost: 0).
// Used by tests/e2e/faults.test.ts and by scripts/fault-matrix.ts (docs/reliability.md).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Result, type ResultPromise } from 'execa';
import {
  bed,
  containerPid,
  createBoundPvc,
  core,
  kubectl,
  MANAGED_SELECTOR,
  managedPods,
  podExecRoots,
  portForwardsInto,
  userEnv,
  volumeFolder,
} from '../e2e/support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from '../e2e/support/storage.ts';
import { snapshot } from '../e2e/support/tree.ts';
import { startOutage } from '../testbed/outage.ts';
import { clusterDir, waitForControlPlane } from '../testbed/cluster.ts';
import { REPO_ROOT, statePaths } from '../testbed/paths.ts';
import { processesBelow, signalAll, whenRunning } from './processes.ts';

export type Operation = 'backup' | 'restore';

/** How the README says a run ends under the fault. */
export type Expected = 'resumes' | 'recovers' | 'fails cleanly';

interface FaultContext {
  namespace: string;
  operation: Operation;
  run: ResultPromise;
  /** Settles when the run ends: a fault still waiting for its moment then gives up. */
  ended: Promise<unknown>;
}

export interface Fault {
  id: string;
  title: string;
  operations: Operation[];
  expected: Expected;
  /** What the error line of a clean failure must name: the fault, not something else. */
  error?: RegExp;
  /** Does the damage at its moment; resolves to what it did, or throws NotCaused. */
  inject?: (ctx: FaultContext) => Promise<string>;
  /** The run's setting that is the fault itself (a PVC that cannot bind). */
  faultArgs?: Partial<Record<Operation, string[]>>;
  /** The same run, with the fault fixed, for the re-run. */
  fixArgs?: Partial<Record<Operation, string[]>>;
  /** The source lives in a StorageClass that cannot clone. */
  sourceClass?: 'noClone';
  /** Runs the plugin with its staging folder on a 1 MiB tmpfs. */
  tinyDisk?: boolean;
  /** The least data that shows the fault (see DATA). */
  data: keyof typeof DATA;
  /** The fault stops a server of the whole bed: no other test may run meanwhile. */
  stopsBedServer?: true;
  /** The run copies its large files through the helper pod's server (--transport port-forward). */
  portForward?: true;
}

/** The volumes the faults run on, each the least that still shows its faults. */
export const DATA = {
  /** 2 files of 1 MiB and a small one: a transfer in 2 batches, rclone busy for a moment with each. */
  light: { files: 2, bytes: 1024 * 1024 },
  /** 16 files of 1 MiB and a small one: the pod's tar streams long enough to be caught (6 MiB was missed). */
  held: { files: 16, bytes: 1024 * 1024 },
  /**
   * 3,000 files of 1 KiB: a cut falls at or next to an entry boundary. With 2,000 the pod's tar was once
   * missed when a poll read all of /proc (the case failed as "the fault did not happen"); a poll now reads
   * only the roots' subtree (processes.ts), and 3,000 are caught.
   */
  small: { files: 3000, bytes: 1024 },
  /** 2 files of 20 MiB and a small one: the large ones go through the helper pod's server with port-forward. */
  large: { files: 2, bytes: 20 * 1024 * 1024 },
};

/** A fault that did not happen: the case fails. */
class NotCaused extends Error {}

/** The helper's tar, which the bed runs as a local process, exec'd into a pod of the case's namespace. */
const podTar = (operation: Operation) => (operation === 'backup' ? /tar -c -f - --no-recursion/ : /^tar -x -f -/);
/** The run's helper pod (a restore's namespace also held the helper pod of the backup it restores). */
const HELPER_PREFIX: Record<Operation, string> = { backup: 'datamover-data-', restore: 'datamover-restore-' };
/** The plugin's own rclone moving the data (not its listings and probes). */
const RCLONE_TRANSFER = /rclone (move|copy|archive create|archive extract) /;

/** Whether the run's own rclone, as `pattern` says, was seen running before the run ended. */
function rcloneSeen(ctx: FaultContext, pattern: RegExp): Promise<boolean> {
  return whenRunning(
    () => [ctx.run.pid!],
    pattern,
    ctx.ended,
    () => true,
  );
}

/** The user's rclone copying through the port-forward (with the helper pod's server, DATAMOVERPOD). */
const RCLONE_SERVED = /rclone copy .*DATAMOVERPOD:/;

/** The run's helper pods (a restore's namespace also held the helper pod of the backup it restores). */
async function runHelperPods(ctx: FaultContext): Promise<string[]> {
  return (await managedPods(ctx.namespace)).filter((name) => name.startsWith(HELPER_PREFIX[ctx.operation]));
}

/** Waits until the run's rclone copies through the port-forward, lets a second of it go by, then does `then`. */
async function whileServed(ctx: FaultContext, then: () => Promise<string>): Promise<string> {
  const seen = await rcloneSeen(ctx, RCLONE_SERVED);
  if (!seen) throw new NotCaused("the run's rclone was never seen copying through the port-forward");
  await sleep(1000);
  return then();
}

/** Waits until the helper pod's tar streams, then does `then`: the fault lands mid-transfer. */
async function whileStreaming(ctx: FaultContext, then: () => Promise<string>): Promise<string> {
  const seen = await whenRunning(
    () => podExecRoots(ctx.namespace),
    podTar(ctx.operation),
    ctx.ended,
    () => true,
  );
  if (!seen) throw new NotCaused("the helper pod's tar was never seen running: the run ended first");
  return then();
}

async function killPodTar(ctx: FaultContext): Promise<string> {
  const hit = await whenRunning(
    () => podExecRoots(ctx.namespace),
    podTar(ctx.operation),
    ctx.ended,
    (pids) => signalAll(pids),
  );
  if (!hit) throw new NotCaused('no running tar of the helper pod was killed: the run ended first');
  return "killed the helper pod's tar";
}

/** The pid file of a process of kwokctl's cluster (kube-apiserver, kube-controller-manager, ...). */
function controlPlanePidFile(name: string): string {
  return join(clusterDir(statePaths()), 'pids', `${name}.pid`);
}

async function outage(pidFile: string): Promise<void> {
  await startOutage(pidFile, 3000, join(statePaths().logs, 'outages.log')).restarted;
}

/** The API server down for 3 s; resolves once it, its controllers and exec into new pods work again. */
async function apiServerOutage(): Promise<void> {
  await outage(controlPlanePidFile('kube-apiserver'));
  // The judging and the re-run need the API server, its controllers (the controller-manager
  // exits when it loses its lease, and is started again) and exec into new pods (kwok's Exec
  // informer backs off while the server is down): wait until all work again.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200))
    if ((await kubectl(['get', '--raw', '/readyz'], { reject: false })).exitCode === 0) break;
  await waitForControlPlane(statePaths());
}

export const FAULTS: Fault[] = [
  {
    id: 'stream-cut-mid-file',
    title: 'exec stream killed mid-file (pod-side tar killed)',
    operations: ['backup', 'restore'],
    expected: 'resumes',
    data: 'held',
    inject: killPodTar,
  },
  {
    id: 'stream-cut-small-entries',
    title: 'exec stream killed among 1 KiB entries (at or next to an entry boundary)',
    operations: ['backup', 'restore'],
    expected: 'resumes',
    data: 'small',
    inject: killPodTar,
  },
  {
    id: 'helper-pod-deleted',
    title: 'helper pod deleted (and its tar killed, as a kubelet stops its containers)',
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /the helper pod \S+ was deleted/,
    data: 'held',
    inject: async (ctx) => {
      // The pod's tar is killed as soon as it streams, as a kubelet stops a deleted pod's containers
      // (the bed's pods are processes with no container around them), and the pod deleted at once.
      await killPodTar(ctx);
      const pods = await runHelperPods(ctx);
      for (const name of pods) await core().deleteNamespacedPod({ name, namespace: ctx.namespace });
      if (pods.length === 0) throw new NotCaused('the helper pod was gone before it could be deleted');
      return `killed the tar of pod ${pods.join(', ')} and deleted the pod`;
    },
  },
  {
    id: 'api-server-restart',
    title: 'API server stopped for 3 s and restarted',
    operations: ['backup', 'restore'],
    expected: 'resumes',
    data: 'held',
    stopsBedServer: true,
    inject: (ctx) =>
      whileStreaming(ctx, async () => {
        await apiServerOutage();
        return 'kube-apiserver killed while the stream ran, started again 3 s later';
      }),
  },
  {
    id: 'api-server-restart-served',
    title: 'API server stopped for 3 s mid-copy and restarted (--transport port-forward)',
    operations: ['backup', 'restore'],
    expected: 'recovers',
    data: 'large',
    portForward: true,
    stopsBedServer: true,
    inject: (ctx) =>
      whileServed(ctx, async () => {
        await apiServerOutage();
        return 'kube-apiserver killed while the run copied through the port-forward, started again 3 s later';
      }),
  },
  {
    id: 'kubelet-restart',
    title: "the helper pod's kubelet (kwok) stopped for 3 s mid-stream and restarted",
    operations: ['backup', 'restore'],
    expected: 'resumes',
    data: 'held',
    stopsBedServer: true,
    inject: (ctx) =>
      whileStreaming(ctx, async () => {
        // The exec's stream breaks between the API server and the kubelet: the API server may then
        // report the exec as a success with its output cut short (kubernetes/kubernetes#124571).
        const down = startOutage(controlPlanePidFile('kwok-controller'), 3000, join(statePaths().logs, 'outages.log'));
        // A kubelet holds its node's lease as that node and renews it at once when it starts again;
        // kwok holds it under an identity of its process, and would wait for it to expire (200 s).
        await kubectl(['delete', 'lease', '-n', 'kube-node-lease', '--all']);
        await down.restarted;
        await waitForControlPlane(statePaths());
        return 'kwok-controller killed while the stream ran, started again 3 s later';
      }),
  },
  {
    id: 's3-restart',
    title: 'S3 server stopped for 3 s mid-transfer and restarted',
    operations: ['backup', 'restore'],
    expected: 'recovers',
    data: 'light',
    stopsBedServer: true,
    inject: async (ctx) => {
      const seen = await rcloneSeen(ctx, RCLONE_TRANSFER);
      if (!seen) throw new NotCaused('no rclone transfer of the run was seen: the run ended first');
      await outage(join(statePaths().pids, 's3.pid'));
      return 'rclone serve s3 killed while the run transferred, started again 3 s later';
    },
  },
  {
    id: 'controller-manager-restart',
    title: 'kube-controller-manager killed as the run starts (the clone waits for it to bind)',
    operations: ['backup'],
    expected: 'recovers',
    data: 'light',
    stopsBedServer: true,
    inject: async (ctx) => {
      // Killed without releasing its lease: the bed's kubelet starts it again at once, and it binds
      // claims again only once it holds the lease (up to 15 s later), as in a cluster.
      process.kill(Number(readFileSync(controlPlanePidFile('kube-controller-manager'), 'utf8')), 'SIGKILL');
      for (let ended = false; !ended; ) {
        const claims = await core().listNamespacedPersistentVolumeClaim({
          namespace: ctx.namespace,
          labelSelector: MANAGED_SELECTOR,
        });
        const pending = claims.items.find((claim) => claim.status?.phase === 'Pending');
        if (pending) return `kube-controller-manager killed; the clone ${pending.metadata?.name} was seen Pending`;
        ended = await Promise.race([ctx.ended.then(() => true), sleep(100).then(() => false)]);
      }
      throw new NotCaused('the clone was never seen Pending: the run ended first');
    },
  },
  {
    id: 'rclone-killed',
    title: 'the local rclone killed',
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /(uploading to|downloading from) s3:\/\/\S+ .* failed/,
    data: 'light',
    inject: async (ctx) => {
      const hit = await whenRunning(
        () => [ctx.run.pid!],
        RCLONE_TRANSFER,
        ctx.ended,
        (pids) => signalAll(pids),
      );
      if (!hit) throw new NotCaused('no rclone transfer of the run was killed: the run ended first');
      return "killed the run's rclone";
    },
  },
  ...(['SIGINT', 'SIGTERM'] as const).map(
    (signal): Fault => ({
      id: signal.toLowerCase(),
      title: `${signal}${signal === 'SIGINT' ? ' (Ctrl-C)' : ''} to the plugin`,
      operations: ['backup', 'restore'],
      expected: 'fails cleanly',
      error: new RegExp(`interrupted by ${signal}`),
      data: 'light',
      inject: async (ctx) => {
        const seen = await rcloneSeen(ctx, RCLONE_TRANSFER);
        if (!seen || !ctx.run.kill(signal)) throw new NotCaused('no transfer of the run was seen: the run ended first');
        return `${signal} sent while the run's rclone transferred`;
      },
    }),
  ),
  {
    id: 'port-forward-killed',
    title: 'kubectl port-forward killed mid-copy (--transport port-forward)',
    operations: ['backup', 'restore'],
    expected: 'recovers',
    data: 'large',
    portForward: true,
    inject: (ctx) =>
      whileServed(ctx, async () => {
        const forwards = portForwardsInto(ctx.namespace).map((p) => p.pid);
        if (!signalAll(forwards)) throw new NotCaused('no kubectl port-forward of the run was killed');
        return "killed the run's kubectl port-forward while its rclone copied through it";
      }),
  },
  {
    id: 'pod-server-killed',
    title: "the helper pod's rclone server killed mid-copy (--transport port-forward)",
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /the helper pod \S+ stopped/,
    data: 'large',
    portForward: true,
    inject: (ctx) =>
      whileServed(ctx, async () => {
        const [pod] = await runHelperPods(ctx);
        if (!pod) throw new NotCaused('the helper pod was gone before its server could be killed');
        // The server itself (for a restore, not the container's shell around it, whose argv names it too).
        const servers = processesBelow([await containerPid(ctx.namespace, pod)], /^rclone serve webdav /);
        if (!signalAll(servers)) throw new NotCaused('no rclone server of the helper pod was killed');
        return `killed the rclone server of pod ${pod} while the run copied through it`;
      }),
  },
  {
    id: 'served-pod-deleted',
    title: 'helper pod deleted mid-copy (--transport port-forward)',
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /the helper pod \S+ was deleted/,
    data: 'large',
    portForward: true,
    inject: (ctx) =>
      whileServed(ctx, async () => {
        const pods = await runHelperPods(ctx);
        for (const name of pods) await core().deleteNamespacedPod({ name, namespace: ctx.namespace });
        if (pods.length === 0) throw new NotCaused('the helper pod was gone before it could be deleted');
        return `deleted pod ${pods.join(', ')} while the run copied through its server`;
      }),
  },
  {
    id: 'pvc-never-binds',
    title: 'a PVC that never binds (backup: the clone; restore: the created target)',
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /does not support cloning|was not Bound/,
    sourceClass: 'noClone',
    data: 'light',
    faultArgs: { restore: ['--storage-class', 'datamover-pending', '--timeout', '5s'] },
    fixArgs: { backup: ['--no-clone'] },
  },
  {
    id: 'temp-disk-full',
    title: 'local staging disk full (1 MiB tmpfs)',
    operations: ['backup', 'restore'],
    expected: 'fails cleanly',
    error: /no space left on device/,
    tinyDisk: true,
    data: 'light',
  },
];

export interface FaultOutcome {
  fault: string;
  operation: Operation;
  expected: Expected;
  /** What the fault did, or why it did not happen. */
  injected: string;
  exitCode: number;
  /** recovered: exit 0; failed cleanly: one `error: what; fix` line, non-zero exit. */
  ending: 'recovered' | 'failed cleanly' | 'bad ending';
  /** From the run's -o json (exit 0 only). */
  streamResumes?: number;
  errorLine?: string;
  /** Right after the faulted run, before any re-run: files missing, wrong or stray (exit 0), or partial. */
  damaged: string[];
  leftovers: string[];
  rerunExitCode: number;
  bytesLost: number;
  /** Every promise the run broke, in words; none: the fault was survived. */
  problems: string[];
  survived: boolean;
  seconds: number;
}

const SLOW: Record<Operation, string[]> = {
  // Small batches and a bandwidth limit: each upload takes a moment, the stream waits for them.
  backup: ['--staging-cap', '1Mi', '--env', 'RCLONE_BWLIMIT=4M'],
  restore: ['--batch-size', '2Mi', '--env', 'RCLONE_BWLIMIT=4M'],
};

export async function runFaultCase(fault: Fault, operation: Operation): Promise<FaultOutcome> {
  const started = Date.now();
  const namespace = `fault-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', namespace]);
  await kubectl(['wait', '--for=create', '--timeout=30s', 'serviceaccount/default', '-n', namespace]);
  const scratch = mkdtempSync(join(bed().dir, 'fault-'));
  try {
    emptyBucket();
    const sourceClass =
      operation === 'backup' && fault.sourceClass === 'noClone' ? bed().storageClasses.noClone : undefined;
    const source = await createBoundPvc(namespace, 'data', { storageClass: sourceClass });
    writeSource(source, DATA[fault.data]);
    await createStorageSecret(namespace);
    if (operation === 'restore')
      await mustSucceed(
        plugin(namespace, ['backup', 'data', '--secret', 's3', '--no-clone']),
        'the backup to restore from',
      );

    const base =
      operation === 'backup'
        ? ['backup', 'data', '--secret', 's3']
        : ['restore', '--secret', 's3', '--from', 'plain', '--to-pvc', 'target', '--create', '--size', '1Gi'];
    // A restore streams its batches from `rclone archive create` with the pinned rclone (>= 1.72); on the
    // tiny disk it stages them (Debian's rclone 1.60, on PATH), the way that needs local disk.
    const rclone = operation === 'restore' && !fault.tinyDisk ? ['--rclone', bed().rcloneNew] : [];
    const transport = fault.portForward ? ['--transport', 'port-forward'] : [];
    const faulted = [
      ...base,
      ...SLOW[operation],
      ...rclone,
      ...transport,
      '-o',
      'json',
      ...(fault.faultArgs?.[operation] ?? []),
    ];
    const run = fault.tinyDisk ? onTinyDisk(namespace, faulted, operation, scratch) : plugin(namespace, faulted);
    const ended = run.then(() => undefined);
    const problems: string[] = [];
    // A fault that could not be caused fails the case, and its run must not outlive it.
    const injected = fault.inject
      ? await fault.inject({ namespace, operation, run, ended }).catch((err: unknown) => {
          if (!(err instanceof NotCaused)) throw err;
          problems.push(`the fault did not happen: ${err.message}`);
          run.kill('SIGTERM');
          return `not caused: ${err.message}`;
        })
      : 'in the run itself (its error must name it)';
    const result = await run;
    const judged = judgeEnding(fault, result);
    problems.push(...judged.problems);
    const target = operation === 'backup' ? bucketPath() : await targetFolder(namespace);
    const damaged = damage(source, target, operation, judged.ending === 'recovered');
    const shown = damaged.slice(0, 3).join(', ') + (damaged.length > 3 ? ', ...' : '');
    if (damaged.length) problems.push(`right after the run, ${damaged.length} files: ${shown}`);
    const leftovers = await runLeftovers(namespace, operation);
    if (leftovers.length) problems.push(`left in the cluster: ${leftovers.join(', ')}`);

    const rerun = await plugin(namespace, [
      ...base,
      ...(operation === 'restore' ? ['--overwrite'] : []),
      ...(fault.fixArgs?.[operation] ?? []),
    ]);
    if (rerun.exitCode !== 0) problems.push(`the re-run failed: ${lastLines(rerun.stderr, 3)}`);
    const bytesLost = lostBytes(source, operation === 'backup' ? bucketPath() : await targetFolder(namespace));
    if (bytesLost > 0) problems.push(`${bytesLost} bytes lost after the re-run`);
    return {
      fault: fault.id,
      operation,
      expected: fault.expected,
      injected,
      exitCode: result.exitCode ?? -1,
      ending: judged.ending,
      streamResumes: judged.streamResumes,
      errorLine: judged.errorLine,
      damaged,
      leftovers,
      rerunExitCode: rerun.exitCode ?? -1,
      bytesLost,
      problems,
      survived: problems.length === 0,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await kubectl(['delete', 'namespace', namespace, '--wait=false'], { reject: false });
  }
}

/** How the run ended, against what the README promises for the fault. */
function judgeEnding(
  fault: Fault,
  result: Result,
): Pick<FaultOutcome, 'ending' | 'streamResumes' | 'errorLine' | 'problems'> {
  const stderr = String(result.stderr);
  const errors = stderr.split('\n').filter((l) => l.startsWith('error:'));
  const ending =
    result.exitCode === 0
      ? 'recovered'
      : errors.length === 1 && /^error: .+; .+/.test(errors[0]!)
        ? 'failed cleanly'
        : 'bad ending';
  const problems: string[] = [];
  const streamResumes = ending === 'recovered' ? resumesOf(result) : undefined;
  if (fault.expected === 'fails cleanly') {
    if (ending !== 'failed cleanly')
      problems.push(`the README says it fails cleanly, but it ended: ${ending} (exit ${result.exitCode})`);
    else if (fault.error && !fault.error.test(errors[0]!))
      problems.push(`its error does not name the fault (${fault.error}): ${errors[0]}`);
  } else if (ending !== 'recovered') {
    problems.push(`the README says it ${fault.expected}, but it ended: ${ending}, exit ${result.exitCode}`);
  } else if (fault.expected === 'resumes' && !(Number(streamResumes) > 0)) {
    problems.push(`the README says a cut stream resumes, but streamResumes is ${streamResumes}`);
  }
  if (ending === 'bad ending') problems.push(`its stderr ends: ${lastLines(result.stderr, 6)}`);
  return { ending, streamResumes, errorLine: errors[0], problems };
}

/** streamResumes from the run's -o json; undefined when there is no such result. */
function resumesOf(result: Result): number | undefined {
  try {
    return (JSON.parse(String(result.stdout)) as { streamResumes?: number }).streamResumes;
  } catch {
    return undefined;
  }
}

function lastLines(text: unknown, n: number): string {
  return String(text).trim().split('\n').slice(-n).join(' | ');
}

function plugin(namespace: string, args: string[]): ResultPromise {
  return execa(join(REPO_ROOT, 'bin', 'kubectl-datamover'), [...args, '-n', namespace], {
    env: userEnv(),
    extendEnv: false,
    reject: false,
  });
}

/** The run inside a private mount namespace whose staging folder is a 1 MiB tmpfs. */
function onTinyDisk(namespace: string, args: string[], operation: Operation, scratch: string): ResultPromise {
  const staging = join(scratch, 'staging');
  mkdirSync(staging);
  const script = 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"';
  const where = operation === 'backup' ? ['--staging-dir', staging] : [];
  const command = [join(REPO_ROOT, 'bin', 'kubectl-datamover'), ...args, ...where, '-n', namespace];
  return execa('unshare', ['-rm', 'sh', '-c', script, 'sh', staging, ...command], {
    env: userEnv({ TMPDIR: staging }),
    extendEnv: false,
    reject: false,
  });
}

async function mustSucceed(run: ResultPromise, what: string): Promise<void> {
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`${what} failed: ${String(result.stderr)}`);
}

/** `files` random files of `bytes` under parts/, and a small one. */
function writeSource(root: string, data: { files: number; bytes: number }): void {
  mkdirSync(join(root, 'parts'));
  for (let i = 0; i < data.files; i++) writeFileSync(join(root, 'parts', `part-${i}`), randomBytes(data.bytes));
  writeFileSync(join(root, 'notes.txt'), 'a small file\n');
}

/** The run's helper pods (and a backup's clone, an unbound restore target) still there once it has ended. */
async function runLeftovers(namespace: string, operation: Operation): Promise<string[]> {
  // The plugin deletes its pod as it ends; the API server may take a moment to remove it.
  for (const deadline = Date.now() + 10_000; ; await sleep(200)) {
    const names = await leftoversNow(namespace, operation);
    if (names.length === 0 || Date.now() >= deadline) return names;
  }
}

async function leftoversNow(namespace: string, operation: Operation): Promise<string[]> {
  // A restore's target PVC is the user's result, not a leftover; a backup's clone is one.
  const kinds = operation === 'backup' ? 'pvc,pods' : 'pods';
  const names = String((await kubectl(['get', kinds, '-n', namespace, '-l', MANAGED_SELECTOR, '-o', 'name'])).stdout)
    .split('\n')
    .filter(Boolean);
  if (operation === 'restore') {
    const unbound = 'jsonpath={range .items[?(@.status.phase!="Bound")]}{.metadata.name}{"\\n"}{end}';
    const pending = String((await kubectl(['get', 'pvc', '-n', namespace, '-o', unbound])).stdout);
    names.push(
      ...pending
        .split('\n')
        .filter(Boolean)
        .map((n) => `persistentvolumeclaim/${n} (not Bound)`),
    );
  }
  return names;
}

/** SHA-256 of each regular file of a volume's folder. */
function volumeFiles(folder: string | undefined): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [path, entry] of Object.entries(folder ? snapshot(folder) : {}))
    if (entry.type === 'file') files[path] = entry.sha256!;
  return files;
}

/**
 * What is wrong at the destination right after the faulted run. A run that exited 0 must have
 * every file with its bytes and nothing else; a failed one may lack files, but nothing under a
 * final name may differ from the source (a restore's `.datamover-part/NAME` files are not final).
 */
function damage(source: string, destination: string | undefined, operation: Operation, complete: boolean): string[] {
  const want = volumeFiles(source);
  // The S3 server's own upload files (`.rclone_temp_put_*`, left in its folder when it is killed
  // mid-upload) are the server's, not objects the plugin wrote.
  const have =
    operation === 'backup'
      ? objectsIn(destination ?? '', { exclude: /(^|\/)\.rclone_temp_put_/ })
      : volumeFiles(destination);
  const found: string[] = [];
  for (const [path, sha] of Object.entries(have)) {
    if (want[path] === undefined && (complete || !/(^|\/)\.datamover-part\//.test(path))) found.push(`stray ${path}`);
    else if (want[path] !== undefined && want[path] !== sha) found.push(`wrong bytes in ${path}`);
  }
  if (complete) for (const path of Object.keys(want)) if (have[path] === undefined) found.push(`missing ${path}`);
  return found;
}

/** The restore target's folder; undefined when it does not exist or is not bound. */
function targetFolder(namespace: string): Promise<string | undefined> {
  return volumeFolder(namespace, 'target').catch(() => undefined);
}

/** Bytes of source files that are not, byte for byte, at the destination. */
function lostBytes(source: string, destination: string | undefined): number {
  const there = destination ? snapshot(destination) : {};
  return Object.entries(snapshot(source)).reduce(
    (lost, [path, entry]) =>
      entry.type === 'file' && there[path]?.sha256 !== entry.sha256 ? lost + entry.size! : lost,
    0,
  );
}
