// Restore: a backup streamed from the user's rclone into a helper pod that
// writes into the target PVC. Objects come down in batches (rclone copy into
// local staging, symlinks recreated from .rclonelink), each batch goes into
// the pod as one tar stream over exec stdin, and the manifest's modes, mtimes
// and empty folders are applied. The PVC carries an annotation saying whether
// the restore is complete.
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import type { Pack } from 'tar-stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UsageError, UserError } from '../errors.ts';
import { requirePermissions } from '../kube/access.ts';
import { LOCAL_RESTORE, PORT_FORWARD } from '../kube/permissions.ts';
import { requireKubectl } from '../kube/port-forward.ts';
import {
  annotatePvc,
  createPvc,
  deletePvc,
  findPvc,
  getBoundPvc,
  waitForBound,
  waitForBoundOrConsumer,
  waitsForFirstConsumer,
} from '../kube/pvc.ts';
import {
  describePrivilege,
  HELPER_CONTAINER,
  type HelperPrivilege,
  helperPodGone,
  helperPodName,
  runHasLivePod,
  WRITE_ANY_FILE,
} from '../kube/helper-pod.ts';
import { isPodSecurityRefusal } from '../kube/api-errors.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { filesFromList } from '../rclone/listing.ts';
import {
  ARCHIVE_BATCH_FILES,
  archivable,
  packArchive,
  streamsBatches,
  packDownload,
  StorageFailure,
  streamable,
  type StreamedFile,
} from './streamed-downloads.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import type { DestinationOptions } from '../destination/options.ts';
import { readManifest, type BackupManifest, type ManifestEntry } from '../store/manifest.ts';
import { chooseBackup, listBackups, type Backup } from '../store/catalog.ts';
import { openStore } from '../store/open.ts';
import { captureFromPod, captureFromPodOrFail } from '../stream/exec-channel.ts';
import {
  commitPartFiles,
  ContentMismatch,
  extractCommand,
  isVolumeFull,
  linkHardLinks,
  packDirs,
  packFiles,
  sendTar,
} from '../stream/tar-in.ts';
import { withResumes } from '../stream/resume.ts';
import { collectDeadBuffers } from '../kube/buffer-collector.ts';
import { nulList, type PodFile } from '../stream/pod-files.ts';
import { listPodFiles } from '../stream/pod-commands.ts';
import { runFlow, type Flow } from '../flow/runner.ts';
import { startHelperPod } from '../flow/pods.ts';
import type { ProgressRenderer, Report } from '../progress/renderer.ts';
import { transferFraction, transferLine } from '../progress/transfer-progress.ts';
import { formatBytes } from '../format/size.ts';
import { localPath } from '../format/local-file-names.ts';
import { type SelectedFile, selectEntries, type Selection } from './selection.ts';
import { overwrittenPaths, planTarget, type TargetPlan } from './target-plan.ts';
import { newPodServer, type PodServer, type Transport } from '../rclone/pod-server.ts';
import {
  incomingFolder,
  parseTargetRoot,
  TARGET_ROOT_CHECK,
  removeIncoming,
  restoreThroughServer,
  type ServerRestore,
  serverRestoreFiles,
} from './server-restore.ts';

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
  /** Give entries their recorded uid/gid (needs the root helper). */
  preserveOwner: boolean;
  batchBytes: number;
  /** --path: volume paths (normalized); empty for the whole backup. */
  paths: string[];
  /** --to-path: a folder of the PVC the entries go into, instead of over the live files. */
  toPath?: string;
  /** --transport: `port-forward` writes the large files through an rclone server in the helper pod. */
  transport?: Transport;
}

/** Restores of chosen paths or into a folder: compared path by path with the PVC, not refused for other files. */
export function isSelective(options: RestoreOptions): boolean {
  return options.paths.length > 0 || options.toPath !== undefined;
}

export interface RestoreResult {
  from: string;
  source: string;
  pvc: string;
  namespace: string;
  files: number;
  bytes: number;
  /** --path and --to-path, when given. */
  paths?: string[];
  toPath?: string;
  /** What the restore found at each path it wrote (counts of `restore --dry-run`), for restores of chosen paths. */
  counts?: TargetPlan['counts'];
  /** Times a cut exec stream was resumed (its batch sent again). */
  streamResumes: number;
  /** Of the files written, those the helper pod's server wrote (--transport port-forward). */
  filesFromServer: number;
  durationSeconds: number;
}

/** What every step of one restore shares; it never changes once the run has started. */
export interface Run {
  readonly kube: KubeConnection;
  readonly options: RestoreOptions;
  readonly flow: Flow;
  readonly log: Logger;
  readonly runId: string;
  /** The helper pod's server, with --transport port-forward (not for a dry run). */
  readonly server?: PodServer;
}

interface Source {
  rclone: RcloneContext;
  rcloneVersion: string;
  backup: Backup;
  manifest?: BackupManifest;
  /** What is written where (everything, at its own path, unless --path or --to-path). */
  selection: Selection;
}

/** Root with what `tar -x` needs to give files their owners, unless --run-as names a user. */
function restorePrivilege(options: RestoreOptions): HelperPrivilege {
  const { runAs } = options.helper;
  return runAs.kind === 'user' ? { kind: 'user', uid: runAs.uid, gid: runAs.gid } : WRITE_ANY_FILE;
}

/** Whether the files get their recorded owners: recorded, wanted, and a helper that may. */
export function keepsOwners(options: RestoreOptions, manifest: BackupManifest | undefined): boolean {
  return Boolean(manifest?.owners) && options.preserveOwner && restorePrivilege(options).kind === 'root';
}

export async function runRestore(
  kube: KubeConnection,
  options: RestoreOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<RestoreResult> {
  const started = Date.now();
  const result = await runFlow({ progress }, async (flow) => {
    const runId = randomBytes(3).toString('hex');
    const server = options.transport === 'port-forward' ? newPodServer('writable', incomingFolder(runId)) : undefined;
    const run: Run = { kube, options, flow, log, runId, server };
    const source = await flow.step('Preflight checks', () => preflight(run), describeSource);
    const target = await flow.step(
      'Prepare the target PVC',
      (report) => prepareTarget(run, report),
      ({ summary }) => summary,
    );
    const pod = await flow.step(
      'Start the helper pod',
      () => startHelper(run, target),
      (name) => name,
    );
    const from = `${source.rclone.destination.display} ${source.backup.name}`;
    const plan = isSelective(options)
      ? await flow.step(
          'Compare the chosen paths with the PVC',
          () => comparePaths(run, source, pod),
          ({ counts }) => `${counts.create} to create, ${counts.overwrite} to overwrite, ${counts.unchanged} unchanged`,
        )
      : undefined;
    let verified = false;
    const sent = await flow.step(
      'Restore the files',
      (report) => restoreFiles(run, { source, pod, from, plan, verified: () => verified }, report),
      ({ files, bytes, folders }) => `${files} files, ${formatBytes(bytes)}, ${folders} folders`,
    );
    await flow.step(
      'Verify the restored files',
      () => verifyRestored(run, source, pod, from, plan),
      () => `${source.selection.files.size} files`,
    );
    verified = true;
    return { source, plan, bytes: sent.bytes, resumes: sent.resumes, served: sent.served };
  });
  return {
    from: result.source.backup.name,
    source: result.source.rclone.destination.display,
    pvc: options.toPvc,
    namespace: options.namespace,
    files: result.source.selection.files.size,
    bytes: result.bytes,
    ...selectiveFields(options),
    ...(result.plan ? { counts: result.plan.counts } : {}),
    streamResumes: result.resumes,
    filesFromServer: result.served,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

export function selectiveFields(options: RestoreOptions): { paths?: string[]; toPath?: string } {
  return {
    ...(options.paths.length ? { paths: options.paths } : {}),
    ...(options.toPath !== undefined ? { toPath: options.toPath } : {}),
  };
}

export function describeSource({ backup, selection }: Source): string {
  const whole = `${backup.files} files, ${formatBytes(backup.bytes)}`;
  if (selection.files.size === backup.files) return `backup ${backup.name}: ${whole}`;
  const bytes = [...selection.files.values()].reduce((sum, f) => sum + f.size, 0);
  return `backup ${backup.name}: ${selection.files.size} files, ${formatBytes(bytes)} chosen of ${whole}`;
}

/** `createsPvc`: false for a dry run, which creates nothing. */
export async function preflight(run: Run, createsPvc = true): Promise<Source> {
  const { kube, options, flow, log } = run;
  const create = options.create && createsPvc ? [{ verb: 'create', resource: 'persistentvolumeclaims' }] : [];
  const forward = options.transport === 'port-forward' ? PORT_FORWARD : [];
  await requirePermissions(kube, options.namespace, [...LOCAL_RESTORE, ...create, ...forward]);
  if (options.transport === 'port-forward') requireKubectl();
  const { rclone, rcloneVersion } = await openStore(kube, options.destination, {
    verbosity: log.verbosity,
    signal: flow.signal,
  });
  const backup = chooseBackup(await listBackups(rclone, rclone.destination), options.from, rclone.destination.display);
  const manifest = await readManifest(rclone, backup.path);
  if (!manifest)
    log.warn(
      `backup ${backup.name} has no manifest (the operator writes none): file modes, owners, empty folders ` +
        'and folder times were not recorded and cannot be restored; files get mode 644',
    );
  else if (!manifest.owners)
    log.warn(
      `backup ${backup.name} was made by an older version that did not record owners: ` +
        "files get the helper pod's user (pass --run-as UID[:GID] to choose it)",
    );
  else if (!keepsOwners(options, manifest)) {
    const why = options.preserveOwner
      ? `running as ${describePrivilege(restorePrivilege(options))}`
      : '--no-preserve-owner';
    log.warn(`owners are not restored (${why}): files get the helper pod's user`);
  }
  if (manifest?.filters?.length)
    log.warn(`this backup holds only the files its filters kept: ${manifest.filters.join(' ')}`);
  const selection = selectEntries(backup.objects, manifest, options.paths, options.toPath);
  const [unmatched] = selection.unmatched;
  if (unmatched !== undefined)
    throw new UserError(
      `--path "${quoteEscapedBytes(unmatched)}" matches nothing in backup ${backup.name}`,
      'give a file (matched exactly) or a folder (with everything below it) of the backup, relative to its root',
    );
  for (const { path, partners } of selection.separated) {
    const others = partners.map((p) => `"${quoteEscapedBytes(p)}"`).join(', ');
    log.warn(
      `"${quoteEscapedBytes(path)}" is a hard link to ${others}, not among the chosen paths: ` +
        'it is restored as a separate file',
    );
  }
  return { rclone, rcloneVersion, backup, manifest, selection };
}

/**
 * The target PVC, ready for the helper pod. One whose StorageClass waits for its first consumer binds
 * only once the helper pod is scheduled: `untilBound` waits for that, after the pod is created.
 */
interface Target {
  summary: string;
  untilBound?: () => Promise<void>;
  /** A PVC that was there before: it may be in use, and its helper must run where it is attached. */
  existing?: V1PersistentVolumeClaim;
}

export function missingPvc({ toPvc, namespace }: RestoreOptions): UserError {
  return new UserError(
    `PVC "${toPvc}" does not exist in namespace "${namespace}"`,
    'create it, or pass --create --size SIZE [--storage-class SC]',
  );
}

async function prepareTarget(run: Run, report: Report): Promise<Target> {
  const { kube, options, flow } = run;
  const { namespace, toPvc } = options;
  const timeoutMs = options.helper.timeoutMs;
  const untilBound = () => waitForBound(kube, namespace, toPvc, timeoutMs, flow.signal);
  const existing = await findPvc(kube, namespace, toPvc);
  if (existing?.status?.phase === 'Bound') return { summary: `${toPvc} exists`, existing };
  if (existing && (await waitsForFirstConsumer(kube, existing)))
    return { summary: `${toPvc} exists, bound once the helper pod uses it`, untilBound };
  if (existing) {
    await getBoundPvc(kube, namespace, toPvc); // says why it is not Bound
    return { summary: `${toPvc} exists` };
  }
  if (!options.create) throw missingPvc(options);
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
  // A PVC that never binds holds nothing: remove it (after the helper pod), so that a re-run starts clean.
  let bound = false;
  flow.defer(`delete ${toPvc} unless it was bound`, async () => {
    if (!bound) await deletePvc(kube, namespace, toPvc);
  });
  report(`waiting for ${toPvc} to be Bound`);
  const created = `created ${toPvc} (${options.create.size})`;
  if ((await waitForBoundOrConsumer(kube, namespace, toPvc, timeoutMs, flow.signal)) === 'Bound') {
    bound = true;
    return { summary: created };
  }
  return {
    summary: `${created}, bound once the helper pod uses it`,
    untilBound: async () => {
      await untilBound();
      bound = true;
    },
  };
}

export async function startHelper(run: Run, target: Target, readOnly = false): Promise<string> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const name = helperPodName('restore', options.toPvc, run.runId);
  const privilege = restorePrivilege(options);
  await startHelperPod(kube, flow, {
    name,
    namespace,
    claimName: options.toPvc,
    readOnly,
    labels: { ...MANAGED_BY, [RUN_LABEL]: run.runId },
    helper: options.helper,
    privilege,
    inUse: target.existing,
    beforeReady: target.untilBound,
    server: readOnly ? undefined : run.server,
  }).catch((err: unknown) => {
    if (!isPodSecurityRefusal(err)) throw err;
    throw new UserError(
      `namespace "${namespace}" refuses a helper pod running as ${describePrivilege(privilege)} (Pod Security)`,
      "pass --run-as UID[:GID] of the files' owner (owners are then not restored), or label the namespace " +
        'pod-security.kubernetes.io/enforce=baseline',
    );
  });
  if (readOnly) return name;
  const { ended, othersThere } = await leftByKilledRuns(run, name);
  if (!isSelective(options) && othersThere && !options.overwrite) {
    throw new UserError(
      `PVC "${options.toPvc}" is not empty`,
      'restore into an empty PVC, or pass --overwrite to write over its files (others are kept)',
    );
  }
  if (ended.length) {
    await removeIncoming({ kube, namespace, pod: name }, ended, flow.signal);
    run.log.warn(`removed ${ended.map(incomingFolder).join(', ')} from the PVC: what a restore that was killed left`);
  }
  return name;
}

/**
 * The incoming folders at the PVC's root (what a restore by port-forward writes into) whose runs have ended
 * (killed: they could not remove them), and whether the root holds anything else. A folder whose run goes
 * on is that run's, and counts as the PVC's content.
 */
export async function leftByKilledRuns(run: Run, pod: string): Promise<{ ended: string[]; othersThere: boolean }> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const exec = { namespace, pod, container: HELPER_CONTAINER, signal: flow.signal };
  const { stdout } = await captureFromPod(kube, { ...exec, command: ['sh', '-c', TARGET_ROOT_CHECK] });
  const root = parseTargetRoot(stdout.toString());
  if (!root)
    throw new UserError(
      `could not look at the root of PVC "${options.toPvc}" in helper pod ${pod} (its output was cut short)`,
      'run the restore again',
    );
  const ended: string[] = [];
  for (const runId of root.incomingRuns) if (!(await runHasLivePod(kube, namespace, runId))) ended.push(runId);
  return { ended, othersThere: root.othersThere || ended.length < root.incomingRuns.length };
}

/** The PVC's entries now, and what the restore does to each path it writes. */
async function listAndPlan(run: Run, source: Source, pod: string): Promise<TargetPlan> {
  const { kube, options, flow } = run;
  const { files, error } = await listPodFiles(kube, { namespace: options.namespace, pod, signal: flow.signal });
  if (error)
    throw new UserError(
      `could not list every file of PVC "${options.toPvc}" to compare it with the backup: ${error}`,
      'check that the helper pod may read the volume (leave --run-as out)',
    );
  return planTarget(source.selection, files, {
    manifest: Boolean(source.manifest),
    keepOwners: keepsOwners(options, source.manifest),
    deleteExtra: options.deleteExtra,
  });
}

/** Before a restore of chosen paths writes anything: what it would write over needs --overwrite. */
async function comparePaths(run: Run, source: Source, pod: string): Promise<TargetPlan> {
  const { options } = run;
  const plan = await listAndPlan(run, source, pod);
  const conflict = plan.paths.find((p) => p.conflict);
  if (conflict)
    throw new UserError(
      `"${quoteEscapedBytes(conflict.path)}" is a ${conflict.type === 'dir' ? 'file' : 'folder'} in PVC ` +
        `"${options.toPvc}" and a ${conflict.type === 'dir' ? 'folder' : 'file'} in the backup`,
      'move it away in the PVC, or restore with --to-path DIR to put the chosen paths aside',
    );
  const overwritten = overwrittenPaths(plan);
  if (overwritten.length && !options.overwrite)
    throw new UserError(
      `${overwritten.length} of the chosen paths exist in PVC "${options.toPvc}" with other contents ` +
        `(first: "${quoteEscapedBytes(overwritten[0]!.path)}")`,
      'pass --overwrite to write over them (files outside the chosen paths are not touched), or --to-path DIR',
    );
  return plan;
}

async function markTarget(run: Run, state: string, from: string): Promise<void> {
  const { kube, options } = run;
  await annotatePvc(kube, options.namespace, options.toPvc, RESTORE_ANNOTATION, {
    state,
    from,
    ...selectiveFields(options),
    time: new Date().toISOString(),
  });
}

async function restoreFiles(
  run: Run,
  into: { source: Source; pod: string; from: string; plan?: TargetPlan; verified: () => boolean },
  report: Report,
): Promise<{ files: number; bytes: number; folders: number; resumes: number; served: number }> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const { source, pod, from } = into;
  const { backup, rclone, selection } = source;
  await markTarget(run, 'in-progress', from);
  // The verification marks it complete; a run that ends before that leaves it "incomplete".
  flow.defer('mark the PVC', async () => {
    if (!into.verified()) await markTarget(run, 'incomplete', from);
  });
  // Made for the first batch that is staged: a restore whose batches all stream needs no local disk.
  let staging: Promise<string> | undefined;
  const stagingFolder = () => {
    staging ??= mkdtemp(join(tmpdir(), 'kubectl-datamover-restore-')).then((folder) => {
      flow.defer('remove the local staging folder', () => rm(folder, { recursive: true, force: true }));
      return folder;
    });
    return staging;
  };
  const keepOwners = keepsOwners(options, source.manifest);
  const extract = extractCommand(keepOwners);
  const entries = new Map<string, ManifestEntry>(selection.entries.map((e) => [e.path, e]));
  const target = { kube, namespace, pod, signal: flow.signal, report };
  const policy = {
    resumable: (err: unknown) =>
      !isVolumeFull(err) && !(err instanceof StorageFailure || err instanceof ContentMismatch),
    during: 'during the restore',
    fix: 'run the restore again with --overwrite',
    resumesWith: 'the batch',
  };
  let bytes = 0;
  let done = 0;
  let resumes = 0;
  let downloaded = 0;
  const downloading = new Map<number, number>();
  const started = Date.now();
  const totalBytes = [...selection.files.values()].reduce((sum, f) => sum + f.size, 0);
  const ticker = setInterval(() => {
    const counts = {
      totalBytes,
      doneBytes: bytes,
      arrivedBytes: downloaded + [...downloading.values()].reduce((sum, b) => sum + b, 0),
      files: done,
      totalFiles: selection.files.size,
      elapsedMs: Date.now() - started,
      doneVerb: 'written',
    };
    report(transferLine(counts), transferFraction(counts));
  }, 1000);
  // The next batches download while the current one is sent: DOWNLOADS_AHEAD + 1 batches on disk at most.
  const downloads = new AbortController();
  const downloader = { ...rclone, signal: AbortSignal.any([flow.signal, downloads.signal]) };
  // Batches that stream need no local disk: larger ones cost fewer execs and rclone processes.
  const streams = streamsBatches(source.rcloneVersion, source.manifest);
  const download = async (batch: string[], index: number): Promise<Downloaded> => {
    const files = batch.map((key) => selection.files.get(key)!);
    const batchBytes = files.reduce((sum, file) => sum + file.size, 0);
    const streamed = streamable(batch, files, options.batchBytes, entries);
    if (streamed) return { files, batchBytes, streamed };
    if (streams && archivable(batch, files, entries)) return { files, batchBytes, archived: true };
    const folder = join(await stagingFolder(), `batch-${index}`);
    // Listing the batch's folders costs a request per 1,000 objects; --no-traverse, one per object:
    // worth it only for a few objects of a large backup.
    const traverse = batch.length * 10 >= backup.files ? [] : ['--no-traverse'];
    await runRclone(downloader, ['copy', backup.path, folder, '--files-from-raw', '-', '--links', ...traverse], {
      input: filesFromList(batch),
      what: `downloading from ${rclone.destination.display}`,
      onProgress: (moved) => downloading.set(index, Math.min(batchBytes, moved)),
    });
    downloaded += batchBytes;
    downloading.delete(index);
    return { files, batchBytes, staged: { folder, dir: await placeDownloads(folder, files) } };
  };
  const served = run.server ? serverRestoreFiles(selection.files, entries) : [];
  const rest = new Map(selection.files);
  for (const { key } of served) rest.delete(key);
  const batches = restoreBatches(rest, options.batchBytes, streams ? ARCHIVE_BATCH_FILES : undefined);
  const ahead: Promise<Downloaded>[] = [];
  let queued = 0;
  const downloadAhead = () => {
    while (ahead.length < DOWNLOADS_AHEAD && queued < batches.length) {
      const next = download(batches[queued]!, queued++);
      next.catch(() => undefined); // heard when it is awaited, or dropped when a batch fails
      ahead.push(next);
    }
  };
  const stopCollecting = collectDeadBuffers();
  try {
    if (served.length) {
      const servedBytes = served.reduce((sum, { file }) => sum + file.size, 0);
      const progress = (moved: number) => downloading.set(-1, Math.min(servedBytes, moved));
      await restoreServed(
        run,
        { pod, files: served, rclone: downloader, backupPath: backup.path, keepOwners },
        progress,
      );
      downloading.delete(-1);
      downloaded += servedBytes;
      done += served.length;
      bytes += servedBytes;
    }
    downloadAhead();
    for (let index = 0; index < batches.length; index++) {
      const { files, batchBytes, staged, streamed, archived } = await ahead.shift()!;
      downloadAhead();
      const paths = files.map((f) => f.path);
      const ctx = { ...downloader, backup };
      const arrived = (bytes: number) => downloading.set(index, bytes);
      const fill = (pack: Pack) => {
        if (streamed) return packDownload(pack, ctx, streamed, arrived);
        if (archived) return packArchive(pack, ctx, { keys: batches[index]!, files, entries }, arrived);
        return packFiles(pack, staged!.dir, paths, (p) => entries.get(p));
      };
      const sentBatch = await withResumes(target, policy, async () => {
        await sendTar(kube, namespace, pod, fill, flow.signal, extract);
        await commitPartFiles(kube, namespace, pod, paths, flow.signal);
      });
      resumes += sentBatch.resumes;
      if (staged) {
        await rm(staged.folder, { recursive: true, force: true });
        if (staged.dir !== staged.folder) await rm(staged.dir, { recursive: true, force: true });
      } else {
        downloading.delete(index);
        downloaded += batchBytes;
      }
      done += files.length;
      bytes += batchBytes;
    }
  } finally {
    clearInterval(ticker);
    stopCollecting();
    // A batch that failed leaves no download running into the staging folder.
    downloads.abort();
    await Promise.allSettled(ahead);
  }
  const links = [...entries.values()].flatMap((e) => (e.link === undefined ? [] : [{ path: e.path, link: e.link }]));
  await linkHardLinks(kube, target, links);
  // Deepest first: a folder's mtime is set after everything inside it.
  const dirs = [...(into.plan?.parents ?? []), ...entries.values()]
    .filter((e) => e.type === 'dir')
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  if (dirs.length) await sendTar(kube, namespace, pod, (pack) => packDirs(pack, dirs), flow.signal, extract);
  return { files: done + links.length, bytes, folders: dirs.length, resumes, served: served.length };
}

/** --transport port-forward: the large files through the helper pod's server, before the batches. */
async function restoreServed(
  run: Run,
  what: Pick<ServerRestore, 'pod' | 'files' | 'rclone' | 'backupPath' | 'keepOwners'>,
  onProgress: (bytes: number) => void,
): Promise<void> {
  const { kube, options, flow } = run;
  const request = {
    ...what,
    kube,
    namespace: options.namespace,
    server: run.server!,
    incoming: incomingFolder(run.runId),
    signal: flow.signal,
    onProgress,
  };
  let named = false;
  // The folder also goes when the pod stops (newPodServer): what a late write makes again after this, and
  // all of it when the pod is gone already (no exec into it then; a pod killed outright leaves it to the next).
  flow.defer(`remove ${request.incoming} from the PVC if it is left`, async () => {
    if (named) return;
    const gone = await helperPodGone(kube, request.namespace, request.pod);
    if (!gone) return removeIncoming(request, [run.runId], AbortSignal.timeout(60_000));
    if (gone === 'was deleted') return; // its container's stop removes it
    run.log.warn(
      `${request.incoming} may be left in the PVC (the helper pod ${gone}, nothing can remove it now): ` +
        'the next restore into this PVC removes it',
    );
  });
  await restoreThroughServer(request);
  named = true;
}

/** A batch ready to send: downloaded into `staged`, or streamed from the storage as it is sent. */
interface Downloaded {
  files: SelectedFile[];
  batchBytes: number;
  staged?: { folder: string; dir: string };
  /** One large file from `rclone cat`. */
  streamed?: StreamedFile;
  /** The batch from `rclone archive create`. */
  archived?: boolean;
}

/**
 * The folder whose files are packed: `downloads` itself when each file keeps its backup path, else a
 * folder beside it where each downloaded file was moved to its PVC path (--to-path, a separated link).
 */
async function placeDownloads(downloads: string, files: Array<{ path: string; source: string }>): Promise<string> {
  if (files.every((f) => f.path === f.source)) return downloads;
  const placed = `${downloads}-placed`;
  for (const file of files) {
    const slash = file.path.lastIndexOf('/');
    await mkdir(slash < 0 ? placed : localPath(placed, file.path.slice(0, slash)), { recursive: true });
    await rename(localPath(downloads, file.source), localPath(placed, file.path));
  }
  return placed;
}

async function verifyRestored(run: Run, source: Source, pod: string, from: string, plan?: TargetPlan): Promise<void> {
  const { kube, options, flow } = run;
  const { namespace } = options;
  const { manifest, selection } = source;
  const { files: listing } = await listPodFiles(kube, { namespace, pod, signal: flow.signal });
  const restored = new Map(listing.map((f) => [f.path, f]));
  const wanted = new Set([
    ...[...selection.files.values()].map((f) => f.path),
    ...selection.entries.map((e) => e.path),
  ]);
  if (options.deleteExtra) {
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
  for (const { path, size } of selection.files.values()) {
    const file = restored.get(path);
    if (!file || (file.type === 'file' && file.size !== size))
      throw new UserError(
        `"${quoteEscapedBytes(path)}" is missing or has the wrong size in the PVC after the restore`,
        'run the restore again with --overwrite',
      );
  }
  const keepOwners = keepsOwners(options, manifest);
  for (const entry of [...(plan?.parents ?? []), ...selection.entries]) {
    const wrong = restoredWrong(entry, restored, keepOwners);
    if (wrong)
      throw new UserError(
        `"${quoteEscapedBytes(entry.path)}" ${wrong} in the PVC after the restore`,
        'run the restore again with --overwrite',
      );
  }
  await markTarget(run, 'complete', from);
}

/** What is wrong with a restored entry (owner and mode only when they were given), or undefined. */
function restoredWrong(entry: ManifestEntry, restored: Map<string, PodFile>, keepOwners: boolean): string | undefined {
  const file = restored.get(entry.path);
  if (!file) return 'is missing';
  if (entry.link !== undefined && restored.get(entry.link)?.inode !== file.inode)
    return `is not a hard link to "${entry.link}"`;
  if (keepOwners && (file.uid !== entry.uid || file.gid !== entry.gid))
    return `has owner ${file.uid}:${file.gid}, not ${entry.uid}:${entry.gid}`;
  if (keepOwners && entry.type !== 'symlink' && file.mode !== entry.mode)
    return `has mode ${file.mode.toString(8)}, not ${entry.mode.toString(8)}`;
  return undefined;
}

/** Options that cannot work together, found before anything is called. */
export function validateRestoreFlags(flags: {
  create: boolean;
  size?: string;
  delete: boolean;
  overwrite: boolean;
  path?: string[];
  'to-path'?: string;
}) {
  if (flags.delete && (flags.path?.length || flags['to-path'] !== undefined))
    throw new UsageError(
      '--delete cannot be used with --path or --to-path',
      'restore the chosen paths without --delete (nothing outside them is touched)',
    );
  if (flags.delete && !flags.overwrite)
    throw new UsageError(
      '--delete only works with --overwrite',
      'pass --overwrite --delete to make the PVC an exact copy of the backup',
    );
  if (flags.create && !flags.size)
    throw new UsageError('--create needs --size', "e.g. --size 5Gi (at least the backup's size)");
}

/**
 * Files per download batch at most: a tree of small files is sent into the pod while the next
 * batch downloads, instead of all downloading before the first is sent.
 */
export const RESTORE_BATCH_FILES = 1000;

/** Batches downloading while one is sent: one download of small files leaves the link idle between requests. */
const DOWNLOADS_AHEAD = 2;

/**
 * Object keys in name order, cut into batches of about `capBytes` and at most `capFiles` files
 * each (a batch holds at least one).
 */
export function restoreBatches(
  objects: Map<string, { size: number }>,
  capBytes: number,
  capFiles = RESTORE_BATCH_FILES,
): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [key, object] of [...objects.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    current.push(key);
    size += object.size;
    if (size >= capBytes || current.length >= capFiles) {
      result.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length) result.push(current);
  return result;
}
