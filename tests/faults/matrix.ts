// The fault matrix: each fault is caused for real on the bed while a local-mode
// backup or restore runs, then the run is judged: it recovered (exit 0) or
// failed in one line with a non-zero exit; nothing of the run is left in the
// cluster; nothing partial is under a final name; and a re-run completes with
// the destination byte-identical to the source (bytes lost: 0).
// Used by tests/e2e/faults.test.ts and by scripts/fault-matrix.ts (docs/reliability.md).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { bed, createBoundPvc, kubectl, userEnv, volumeFolder } from '../e2e/support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from '../e2e/support/storage.ts';
import { snapshot } from '../e2e/support/tree.ts';
import { startOutage } from '../testbed/outage.ts';
import { CLUSTER_NAME, waitForExec } from '../testbed/cluster.ts';
import { REPO_ROOT, statePaths } from '../testbed/paths.ts';

export type Operation = 'backup' | 'restore';

interface FaultContext {
  namespace: string;
  operation: Operation;
  run: ResultPromise;
}

export interface Fault {
  id: string;
  title: string;
  operations: Operation[];
  /** Does the damage once the run is streaming. */
  inject?: (ctx: FaultContext) => Promise<void>;
  /** inject kills a process as soon as it appears, instead of 2 s into the transfer. */
  waitsForItsProcess?: boolean;
  /** The run's setting that is the fault itself (a PVC that cannot bind). */
  faultArgs?: Partial<Record<Operation, string[]>>;
  /** The same run, with the fault fixed, for the re-run. */
  fixArgs?: Partial<Record<Operation, string[]>>;
  /** The source lives in a StorageClass that cannot clone. */
  sourceClass?: 'noClone';
  /** Runs the plugin with its staging folder on a 1 MiB tmpfs. */
  tinyDisk?: boolean;
  /** Many small files instead of 1 MiB ones: a cut falls at or near an entry boundary. */
  smallFiles?: boolean;
}

/**
 * Kills the processes matching `pattern` as soon as there is one (the bed runs pod commands as local processes).
 * The wait is long: on a loaded 2-core machine, listing and hashing 6,000 files before the transfer takes a while.
 */
async function killWhenRunning(pattern: string, timeoutSeconds = 90): Promise<void> {
  // A shell loop polls far faster than spawning pkill from here would. The
  // pattern goes in the environment: in argv, pkill would match this shell.
  const script =
    'end=$(($(date +%s) + TIMEOUT)); ' +
    'until pkill -f "$PATTERN"; do [ "$(date +%s)" -lt "$end" ] || exit 1; sleep 0.01; done';
  const { exitCode } = await execa('sh', ['-c', script.replace('TIMEOUT', String(timeoutSeconds))], {
    env: { PATTERN: pattern },
    reject: false,
  });
  if (exitCode !== 0) throw new Error(`no process matched "${pattern}": the fault could not be caused`);
}
const podTar = (operation: Operation) => (operation === 'backup' ? 'tar -c -f - --no-recursion' : '^tar -x -f -');
const outage = async (pidFile: string) => {
  await startOutage(pidFile, 3000, join(statePaths().logs, 'outages.log')).restarted;
};

export const FAULTS: Fault[] = [
  {
    id: 'stream-cut-mid-file',
    title: 'exec stream killed mid-file (pod-side tar killed)',
    operations: ['backup', 'restore'],
    waitsForItsProcess: true,
    inject: ({ operation }) => killWhenRunning(podTar(operation)),
  },
  {
    id: 'stream-cut-small-entries',
    title: 'exec stream killed among 1 KiB entries (at or next to an entry boundary)',
    operations: ['backup', 'restore'],
    smallFiles: true,
    waitsForItsProcess: true,
    inject: ({ operation }) => killWhenRunning(podTar(operation)),
  },
  {
    id: 'helper-pod-deleted',
    title: 'helper pod deleted',
    operations: ['backup', 'restore'],
    inject: async ({ namespace }) => {
      await kubectl(
        ['delete', 'pod', '-n', namespace, '-l', 'app.kubernetes.io/managed-by=kubectl-datamover', '--wait=false'],
        { reject: false },
      );
    },
  },
  {
    id: 'api-server-restart',
    title: 'API server stopped for 3 s and restarted',
    operations: ['backup', 'restore'],
    inject: async () => {
      await outage(join(statePaths().kwokWorkdir, 'clusters', CLUSTER_NAME, 'pids', 'kube-apiserver.pid'));
      // The judging and the re-run below need the API server and exec into new pods (kwok's
      // Exec informer backs off while the server is down): wait until both work again.
      for (let i = 0; i < 300 && (await kubectl(['get', '--raw', '/readyz'], { reject: false })).exitCode !== 0; i++)
        await sleep(200);
      await waitForExec(statePaths());
    },
  },
  {
    id: 's3-restart',
    title: 'S3 server stopped for 3 s mid-transfer and restarted',
    operations: ['backup', 'restore'],
    inject: () => outage(join(statePaths().pids, 's3.pid')),
  },
  {
    id: 'rclone-killed',
    title: 'the local rclone killed',
    operations: ['backup', 'restore'],
    waitsForItsProcess: true,
    inject: () => killWhenRunning('rclone (move|copy) '),
  },
  {
    id: 'sigint',
    title: 'SIGINT (Ctrl-C) to the plugin',
    operations: ['backup', 'restore'],
    inject: async ({ run }) => {
      run.kill('SIGINT');
    },
  },
  {
    id: 'sigterm',
    title: 'SIGTERM to the plugin',
    operations: ['backup', 'restore'],
    inject: async ({ run }) => {
      run.kill('SIGTERM');
    },
  },
  {
    id: 'pvc-never-binds',
    title: 'a PVC that never binds (backup: the clone; restore: the created target)',
    operations: ['backup', 'restore'],
    sourceClass: 'noClone',
    faultArgs: { restore: ['--storage-class', 'datamover-pending', '--timeout', '5s'] },
    fixArgs: { backup: ['--no-clone'] },
  },
  {
    id: 'temp-disk-full',
    title: 'local staging disk full (1 MiB tmpfs)',
    operations: ['backup', 'restore'],
    tinyDisk: true,
  },
];

export interface FaultOutcome {
  fault: string;
  operation: Operation;
  exitCode: number;
  /** recovered: the run completed despite the fault; failed cleanly: one error line, non-zero exit. */
  ending: 'recovered' | 'failed cleanly' | 'bad ending';
  errorLine?: string;
  /** The last lines of a run that did not end well, to see why. */
  stderrTail?: string;
  leftovers: string[];
  partialFiles: string[];
  rerunExitCode: number;
  bytesLost: number;
  survived: boolean;
  seconds: number;
}

const SLOW: Record<Operation, string[]> = {
  // Small batches and a bandwidth limit keep the run streaming for seconds.
  backup: ['--staging-cap', '1Mi', '--env', 'RCLONE_BWLIMIT=4M'],
  restore: ['--batch-size', '1Mi', '--env', 'RCLONE_BWLIMIT=4M'],
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
    writeSource(source, fault.smallFiles ?? false);
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
    const faulted = [...base, ...SLOW[operation], ...(fault.faultArgs?.[operation] ?? [])];
    const run = fault.tinyDisk ? onTinyDisk(namespace, faulted, operation, scratch) : plugin(namespace, faulted);
    if (fault.inject) {
      await waitForHelperPod(namespace);
      // Process kills wait for their process themselves; the others hit the transfer midway.
      if (!fault.waitsForItsProcess) await sleep(operation === 'backup' ? 2000 : 2500);
      // A fault that could not be caused fails the case, and its run must not outlive it.
      await fault.inject({ namespace, operation, run }).catch(async (err: unknown) => {
        run.kill('SIGTERM');
        await run.catch(() => undefined);
        throw err;
      });
    }
    const result = await run;
    const errors = String(result.stderr)
      .split('\n')
      .filter((l) => l.startsWith('error:'));
    const ending =
      result.exitCode === 0
        ? 'recovered'
        : errors.length === 1 && /^error: .+; .+/.test(errors[0]!)
          ? 'failed cleanly'
          : 'bad ending';

    const leftovers = await runLeftovers(namespace, operation);
    const partialFiles =
      operation === 'backup' ? partialObjects(source) : partialRestored(source, await targetFolder(namespace));

    const rerun = await plugin(namespace, [
      ...base,
      ...(operation === 'restore' ? ['--overwrite'] : []),
      ...(fault.fixArgs?.[operation] ?? []),
    ]);
    const bytesLost =
      operation === 'backup' ? lostBytes(source, bucketPath()) : lostBytes(source, await targetFolder(namespace));
    const survived =
      ending !== 'bad ending' &&
      leftovers.length === 0 &&
      partialFiles.length === 0 &&
      rerun.exitCode === 0 &&
      bytesLost === 0;
    return {
      fault: fault.id,
      operation,
      exitCode: result.exitCode ?? -1,
      ending,
      errorLine: errors[0],
      stderrTail:
        ending === 'bad ending'
          ? String(result.stderr).split('\n').slice(-8).join('\n')
          : rerun.exitCode !== 0
            ? `re-run: ${String(rerun.stderr).split('\n').slice(-8).join('\n')}`
            : undefined,
      leftovers,
      partialFiles,
      rerunExitCode: rerun.exitCode ?? -1,
      bytesLost,
      survived,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await kubectl(['delete', 'namespace', namespace, '--wait=false'], { reject: false });
  }
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
  return execa(
    'unshare',
    [
      '-rm',
      'sh',
      '-c',
      script,
      'sh',
      staging,
      join(REPO_ROOT, 'bin', 'kubectl-datamover'),
      ...args,
      ...where,
      '-n',
      namespace,
    ],
    {
      env: userEnv({ TMPDIR: staging }),
      extendEnv: false,
      reject: false,
    },
  );
}

async function mustSucceed(run: ResultPromise, what: string): Promise<void> {
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`${what} failed: ${String(result.stderr)}`);
}

/** 24 files of 1 MiB and a small one; or 6,000 files of 1 KiB. */
function writeSource(root: string, small: boolean): void {
  mkdirSync(join(root, 'parts'));
  if (small) {
    for (let i = 0; i < 6000; i++)
      writeFileSync(join(root, 'parts', `entry-${i}.txt`), randomBytes(512).toString('hex'));
    return;
  }
  // More than the channel buffers (about 10 MiB), so that the pod's tar is held by backpressure.
  for (let i = 0; i < 24; i++) writeFileSync(join(root, 'parts', `part-${i}.bin`), randomBytes(1024 * 1024));
  writeFileSync(join(root, 'notes.txt'), 'a small file\n');
}

async function waitForHelperPod(namespace: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const pods = String(
      (
        await kubectl(
          [
            'get',
            'pods',
            '-n',
            namespace,
            '-l',
            'app.kubernetes.io/managed-by=kubectl-datamover',
            '-o',
            'jsonpath={.items[*].status.phase}',
          ],
          { reject: false },
        )
      ).stdout,
    );
    if (pods.includes('Running')) return;
    await sleep(100);
  }
}

async function runLeftovers(namespace: string, operation: Operation): Promise<string[]> {
  const selector = 'app.kubernetes.io/managed-by=kubectl-datamover';
  // A restore's target PVC is the user's result, not a leftover; a backup's clone is one.
  const kinds = operation === 'backup' ? 'pvc,pods' : 'pods';
  const names = String((await kubectl(['get', kinds, '-n', namespace, '-l', selector, '-o', 'name'])).stdout)
    .split('\n')
    .filter(Boolean);
  if (operation === 'restore') {
    const pending = String(
      (
        await kubectl([
          'get',
          'pvc',
          '-n',
          namespace,
          '-o',
          'jsonpath={range .items[?(@.status.phase!="Bound")]}{.metadata.name}{"\\n"}{end}',
        ])
      ).stdout,
    )
      .split('\n')
      .filter(Boolean);
    names.push(...pending.map((n) => `persistentvolumeclaim/${n} (not Bound)`));
  }
  return names;
}

/**
 * Objects in the bucket that are not exactly a file of the source. The S3
 * server's own upload files (`.rclone_temp_put_*`, left in its folder when it
 * is killed mid-upload) are the server's, not objects the plugin wrote.
 */
function partialObjects(source: string): string[] {
  const files = snapshot(source);
  return Object.entries(objectsIn(bucketPath(), { exclude: /(^|\/)\.rclone_temp_put_/ }))
    .filter(([path, sha]) => files[path]?.sha256 !== sha)
    .map(([path]) => path);
}

/** Files in the target under a final name that differ from the source (".datamover-part" names are not final). */
function partialRestored(source: string, target: string | undefined): string[] {
  if (!target) return [];
  const files = snapshot(source);
  return Object.entries(snapshot(target))
    .filter(
      ([path, entry]) =>
        entry.type === 'file' && !path.endsWith('.datamover-part') && files[path]?.sha256 !== entry.sha256,
    )
    .map(([path]) => path);
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
