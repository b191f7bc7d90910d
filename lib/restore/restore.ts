// Restore: a backup streamed from the user's rclone into a helper pod that
// writes into the target PVC. Objects come down in batches (rclone copy into
// local staging, symlinks recreated from .rclonelink), each batch goes into
// the pod as one tar stream over exec stdin, and the manifest's modes, mtimes
// and empty folders are applied. The PVC carries an annotation saying whether
// the restore is complete.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UsageError, UserError } from '../errors.ts';
import { requirePermissions } from '../kube/access.ts';
import { LOCAL_RESTORE } from '../kube/permissions.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { annotatePvc, createPvc, deletePvc, getBoundPvc, waitForBound } from '../kube/pvc.ts';
import { buildHelperPod, HELPER_CONTAINER, helperDeadlineSeconds, helperPodName } from '../kube/helper-pod.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import type { DestinationOptions } from '../destination/options.ts';
import { readManifest, type BackupManifest, type ManifestEntry } from '../store/manifest.ts';
import { pathOfObject } from '../store/object-keys.ts';
import { chooseBackup, listBackups, type Backup } from '../store/catalog.ts';
import { openStore } from '../store/open.ts';
import { captureFromPod, captureFromPodOrFail } from '../stream/exec-channel.ts';
import { commitPartFiles, isVolumeFull, packDirs, packFiles, sendTar } from '../stream/tar-in.ts';
import { withResumes } from '../stream/resume.ts';
import { nulList } from '../stream/pod-files.ts';
import { listPodFiles } from '../stream/pod-commands.ts';
import { runFlow, type Flow } from '../flow/runner.ts';
import { startPod } from '../flow/pods.ts';
import type { ProgressRenderer, Report } from '../progress/renderer.ts';
import { formatBytes } from '../format/size.ts';

export const RESTORE_ANNOTATION = 'datamover.a-cup-of.coffee/restore';

export interface RestoreOptions {
  namespace: string;
  from: string;
  destination: DestinationOptions;
  helper: HelperPodOptions;
  toPvc: string;
  /** Create the target PVC with this size (and StorageClass) when it does not exist. */
  create?: { size: string; storageClass?: string };
  overwrite: boolean;
  /** With overwrite: delete files in the PVC that the backup does not hold. */
  deleteExtra: boolean;
  batchBytes: number;
}

export interface RestoreResult {
  from: string;
  source: string;
  pvc: string;
  namespace: string;
  files: number;
  bytes: number;
  durationSeconds: number;
}

/** What every step of one restore shares; it never changes once the run has started. */
interface Run {
  readonly kube: KubeConnection;
  readonly options: RestoreOptions;
  readonly flow: Flow;
  readonly log: Logger;
  readonly runId: string;
}

interface Source {
  rclone: RcloneContext;
  backup: Backup;
  manifest?: BackupManifest;
}

export async function runRestore(
  kube: KubeConnection,
  options: RestoreOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<RestoreResult> {
  const started = Date.now();
  const result = await runFlow({ progress }, async (flow) => {
    const run: Run = { kube, options, flow, log, runId: randomBytes(3).toString('hex') };
    const source = await flow.step(
      'Preflight checks',
      () => preflight(run),
      ({ backup }) => `backup ${backup.name}: ${backup.files} files, ${formatBytes(backup.bytes)}`,
    );
    await flow.step(
      'Prepare the target PVC',
      (report) => prepareTarget(run, report),
      (summary) => summary,
    );
    const pod = await flow.step(
      'Start the helper pod',
      () => startHelper(run),
      (name) => name,
    );
    const from = `${source.rclone.destination.display} ${source.backup.name}`;
    let verified = false;
    const sent = await flow.step(
      'Restore the files',
      (report) => restoreFiles(run, { source, pod, from, verified: () => verified }, report),
      ({ files, bytes, folders }) => `${files} files, ${formatBytes(bytes)}, ${folders} folders`,
    );
    await flow.step(
      'Verify the restored files',
      () => verifyRestored(run, source.backup, pod, from),
      () => `${source.backup.files} files`,
    );
    verified = true;
    return { source, bytes: sent.bytes };
  });
  return {
    from: result.source.backup.name,
    source: result.source.rclone.destination.display,
    pvc: options.toPvc,
    namespace: options.namespace,
    files: result.source.backup.files,
    bytes: result.bytes,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

async function preflight(run: Run): Promise<Source> {
  const { kube, options, flow, log } = run;
  const create = options.create ? [{ verb: 'create', resource: 'persistentvolumeclaims' }] : [];
  await requirePermissions(kube, options.namespace, [...LOCAL_RESTORE, ...create]);
  const { rclone } = await openStore(kube, options.destination, { verbosity: log.verbosity, signal: flow.signal });
  const backup = chooseBackup(await listBackups(rclone, rclone.destination), options.from, rclone.destination.display);
  const manifest = await readManifest(rclone, backup.path);
  if (!manifest)
    log.warn(
      `backup ${backup.name} has no manifest (the operator writes none): file modes, owners, empty folders ` +
        'and folder times were not recorded and cannot be restored; files get mode 644',
    );
  return { rclone, backup, manifest };
}

async function prepareTarget(run: Run, report: Report): Promise<string> {
  const { kube, options, flow } = run;
  const { namespace, toPvc } = options;
  const existing = await targetPvc(kube, namespace, toPvc);
  if (existing) return `${toPvc} exists`;
  if (!options.create)
    throw new UserError(
      `PVC "${toPvc}" does not exist in namespace "${namespace}"`,
      'create it, or pass --create --size SIZE [--storage-class SC]',
    );
  const pvc: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: toPvc, namespace, labels: { ...MANAGED_BY } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: options.create.storageClass,
      resources: { requests: { storage: options.create.size } },
    },
  };
  await createPvc(kube, pvc);
  report(`waiting for ${toPvc} to be Bound`);
  // A PVC that never binds holds nothing: remove it, so that a re-run starts clean.
  await waitForBound(kube, namespace, toPvc, options.helper.timeoutMs, flow.signal).catch(async (err: unknown) => {
    await deletePvc(kube, namespace, toPvc);
    throw err;
  });
  return `created ${toPvc} (${options.create.size})`;
}

async function startHelper(run: Run): Promise<string> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const name = helperPodName('restore', options.toPvc, run.runId);
  await startPod(
    kube,
    flow,
    buildHelperPod({
      name,
      namespace,
      claimName: options.toPvc,
      image: options.helper.image,
      readOnly: false,
      labels: { ...MANAGED_BY, [RUN_LABEL]: run.runId },
      deadlineSeconds: helperDeadlineSeconds(options.helper.timeoutMs),
      resources: options.helper.resources,
    }),
    options.helper.timeoutMs,
  );
  const { stdout } = await captureFromPod(kube, {
    namespace,
    pod: name,
    container: HELPER_CONTAINER,
    command: ['sh', '-c', 'ls -A | head -n 1'],
    signal: flow.signal,
  });
  if (stdout.toString().trim() && !options.overwrite) {
    throw new UserError(
      `PVC "${options.toPvc}" is not empty`,
      'restore into an empty PVC, or pass --overwrite to write over its files (others are kept)',
    );
  }
  return name;
}

async function markTarget(run: Run, state: string, from: string): Promise<void> {
  const { kube, options } = run;
  await annotatePvc(kube, options.namespace, options.toPvc, RESTORE_ANNOTATION, {
    state,
    from,
    time: new Date().toISOString(),
  });
}

async function restoreFiles(
  run: Run,
  into: { source: Source; pod: string; from: string; verified: () => boolean },
  report: Report,
): Promise<{ files: number; bytes: number; folders: number }> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const { source, pod, from } = into;
  const { backup, rclone } = source;
  await markTarget(run, 'in-progress', from);
  // The verification marks it complete; a run that ends before that leaves it "incomplete".
  flow.defer('mark the PVC', async () => {
    if (!into.verified()) await markTarget(run, 'incomplete', from);
  });
  const staging = await mkdtemp(join(tmpdir(), 'kubectl-datamover-restore-'));
  flow.defer('remove the local staging folder', () => rm(staging, { recursive: true, force: true }));
  const entries = new Map<string, ManifestEntry>((source.manifest?.entries ?? []).map((e) => [e.path, e]));
  const target = { kube, namespace, pod, signal: flow.signal, report };
  const policy = {
    resumable: (err: unknown) => !isVolumeFull(err),
    during: 'during the restore',
    fix: 'run the restore again with --overwrite',
    resumesWith: 'the batch',
  };
  let bytes = 0;
  let done = 0;
  for (const batch of restoreBatches(backup.objects, options.batchBytes)) {
    const dir = join(staging, `batch-${done}`);
    await runRclone(rclone, ['copy', backup.path, dir, '--files-from-raw', '-', '--links', '--no-traverse'], {
      input: `${batch.join('\n')}\n`,
      what: `downloading from ${rclone.destination.display}`,
    });
    const paths = batch.map(pathOfObject);
    await withResumes(target, policy, async () => {
      await sendTar(kube, namespace, pod, (pack) => packFiles(pack, dir, paths, (p) => entries.get(p)), flow.signal);
      await commitPartFiles(kube, namespace, pod, paths, flow.signal);
    });
    await rm(dir, { recursive: true, force: true });
    done += batch.length;
    bytes += batch.reduce((sum, key) => sum + (backup.objects.get(key)?.size ?? 0), 0);
    report(`${done}/${backup.files} files, ${formatBytes(bytes)}`);
  }
  // Deepest first: a folder's mtime is set after everything inside it.
  const dirs = [...entries.values()]
    .filter((e) => e.type === 'dir')
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  if (dirs.length) await sendTar(kube, namespace, pod, (pack) => packDirs(pack, dirs), flow.signal);
  return { files: done, bytes, folders: dirs.length };
}

async function verifyRestored(run: Run, backup: Backup, pod: string, from: string): Promise<void> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const listing = await listPodFiles(kube, { namespace, pod, signal: flow.signal });
  const restored = new Map(listing.map((f) => [f.path, f]));
  if (options.deleteExtra) {
    const wanted = new Set([...backup.objects.keys()].map(pathOfObject));
    const extra = listing.filter((f) => f.type !== 'dir' && !wanted.has(f.path)).map((f) => f.path);
    if (extra.length) {
      await captureFromPodOrFail(
        kube,
        {
          namespace,
          pod,
          container: HELPER_CONTAINER,
          command: ['sh', '-c', 'xargs -0 -r rm -f'],
          stdin: Readable.from([nulList(extra)]),
          signal: flow.signal,
        },
        { what: 'deleting files the backup does not hold', fix: 'check that the PVC is writable' },
      );
      for (const path of extra) restored.delete(path);
    }
  }
  for (const [key, object] of backup.objects) {
    const path = pathOfObject(key);
    const file = restored.get(path);
    if (!file || (file.type === 'file' && file.size !== object.size))
      throw new UserError(
        `"${path}" is missing or has the wrong size in the PVC after the restore`,
        'run the restore again with --overwrite',
      );
  }
  await markTarget(run, 'complete', from);
}

/** Options that cannot work together, found before anything is called. */
export function validateRestoreFlags(flags: { create: boolean; size?: string; delete: boolean; overwrite: boolean }) {
  if (flags.delete && !flags.overwrite)
    throw new UsageError(
      '--delete only works with --overwrite',
      'pass --overwrite --delete to make the PVC an exact copy of the backup',
    );
  if (flags.create && !flags.size)
    throw new UsageError('--create needs --size', "e.g. --size 5Gi (at least the backup's size)");
}

function targetPvc(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<V1PersistentVolumeClaim | undefined> {
  return getBoundPvc(kube, namespace, name).catch(ignoreNotFound);
}

/** Object keys in name order, cut into batches of about `capBytes` each (a batch holds at least one). */
export function restoreBatches(objects: Map<string, { size: number }>, capBytes: number): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [key, object] of [...objects.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    current.push(key);
    size += object.size;
    if (size >= capBytes) {
      result.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length) result.push(current);
  return result;
}
