// Local mode: back up a PVC through the Kubernetes API into the user's own
// rclone. The flow, as ordered steps with cleanups: preflight, clone, helper
// pod, list, compare, seed, transfer (hashed in the pod meanwhile), prune deleted files, verify,
// record. See README "Local mode" for the design and its limits.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import { requirePermissions } from '../kube/access.ts';
import type { Permission } from '../kube/access.ts';
import { EXISTING_SNAPSHOT, LOCAL_BACKUP, PORT_FORWARD, READ_SECRET, SNAPSHOT_SOURCE } from '../kube/permissions.ts';
import { annotatePvc, getBoundPvc } from '../kube/pvc.ts';
import { requireKubectl } from '../kube/port-forward.ts';
import { deletePod, type HelperPrivilege, helperPodName } from '../kube/helper-pod.ts';
import type { HelperPodOptions } from '../kube/helper-pod-options.ts';
import { LAST_BACKUP_ANNOTATION, runLabels } from '../kube/labels.ts';
import { filesFromList, listRemoteFiles, listRemoteFolders, listRemoteObjects } from '../rclone/listing.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { checkDestinationWritable } from '../rclone/probe.ts';
import { listsMd5s, runTarget, timestampFolder, TIMESTAMP_FOLDER_PATTERN } from '../destination/destination.ts';
import type { DestinationOptions } from '../destination/options.ts';
import type { PodFile } from '../stream/pod-files.ts';
import type { ListingResult } from '../stream/pod-commands.ts';
import { listWithMtimes } from '../store/object-times.ts';
import { manifestEntries, manifestHead, writeManifest, type BackupManifest } from '../store/manifest.ts';
import { objectKey } from '../store/object-keys.ts';
import { openStore } from '../store/open.ts';
import { runFlow, type Flow } from '../flow/runner.ts';
import { startHelperPod } from '../flow/pods.ts';
import { startVolumeReader } from '../flow/read-volume.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { formatBytes } from '../format/size.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';
import { PhaseClock } from '../metrics/phase-clock.ts';
import { type CompiledFilters, keepsDir, keepsFile, ruleLines } from '../rclone/filters.ts';
import { planTransfer, type TransferPlan } from './plan.ts';
import { streamAndUpload } from './transfer.ts';
import { newPodServer, type PodServer, type Transport } from '../rclone/pod-server.ts';
import { copyFromServer, serverFiles } from './server-transfer.ts';
import { type SourceChoice, volumeToRead, type VolumeToRead } from './source.ts';

export interface LocalBackupOptions {
  pvc: string;
  namespace: string;
  destination: DestinationOptions;
  helper: HelperPodOptions;
  timestampPrefix: boolean;
  /** --source (with --no-clone, --snapshot-class and --from-snapshot). */
  source: SourceChoice;
  keepClone: boolean;
  stagingCapBytes: number;
  stagingParent?: string;
  /** Times the run's phases for the metrics (the clock outlives a failed run). */
  phases?: PhaseClock;
  /** --include/--exclude/--filter/--filter-from, compiled by rclone: only what they keep is backed up. */
  filters?: CompiledFilters;
  /** --transport: `port-forward` sends the large files from an rclone server in the helper pod. */
  transport?: Transport;
}

export interface LocalBackupResult {
  mode: 'local';
  pvc: string;
  namespace: string;
  destination: string;
  target: string;
  /** The PVC read, when the run made it: a clone, or a PVC from the snapshot. */
  clone?: string;
  /** The VolumeSnapshot read (--source snapshot, --from-snapshot). */
  snapshot?: string;
  files: number;
  filesSent: number;
  /** Of the files sent, those the helper pod's server sent (--transport port-forward). */
  filesFromServer: number;
  filesUnchanged: number;
  filesSeeded: number;
  filesDeleted: number;
  /** Entries not kept: FIFOs, sockets, devices (each warned about). */
  filesSkipped: number;
  bytesSent: number;
  bytesSkipped: number;
  channelBytes: number;
  /** Times a cut exec stream was resumed from the last complete file. */
  streamResumes: number;
  durationSeconds: number;
  checksums: 'verified';
}

export async function runLocalBackup(
  kube: KubeConnection,
  options: LocalBackupOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<LocalBackupResult> {
  const started = Date.now();
  const phases = options.phases ?? new PhaseClock();
  return runFlow({ progress, phases }, async (flow) => {
    const run = newRun(kube, options, flow, log);
    const store = await flow.step(
      'Preflight checks',
      () => preflight(run),
      (s) => `rclone ${s.version}, ${s.display}`,
    );
    const target = runTarget(store.rclone.destination, run.folder);
    const listing = listDestination(run, store.rclone, target);
    const volume = await volumeToRead({ ...options, kube, flow, log, now: run.now, runId: run.runId }, store.source);
    const claim = volume.claim;
    const reader = await startVolumeReader(kube, flow, {
      namespace: options.namespace,
      runAs: options.helper.runAs,
      start: (privilege, attempt) => startHelper(run, volume, privilege, attempt),
      stop: (name) => deletePod(kube, options.namespace, name),
    });
    const { pod } = reader;
    const files = keptFiles(run, reader.listing);
    flow.enter('Transferring');
    const comparison = await flow.step(
      'Compare with the destination',
      () => compare(run, files, listing),
      describePlan(run.folder),
    );
    const { plan, previousFolder, previousManifest } = comparison;
    await flow.step(
      'Copy unchanged files server-side',
      () => seedFromPrevious(store.rclone, plan, previousFolder, target),
      () => (plan.seed.length ? `${plan.seed.length} files from ${previousFolder}` : 'nothing to copy'),
    );
    const sent = await flow.step(
      'Transfer',
      (report) => transfer(run, { pod, plan, rclone: store.rclone, rcloneVersion: store.version, target, report }),
      describeTransfer,
    );
    await flow.step(
      'Delete files removed from the volume',
      () => deleteRemoved(store.rclone, plan, target),
      () => (plan.delete.length ? `${plan.delete.length} files` : 'none'),
    );
    const entries = await flow.step(
      'Write the backup manifest',
      () => writeRunManifest(run, store.rclone, files, sent.md5s, { target, previous: previousManifest }),
      (count) => `${count} entries`,
    );
    // Sent files were checked twice already: the pod's MD5 with the bytes that arrived
    // (transfer), and rclone checks each object it uploads (size, and MD5) or fails. Files
    // copied server-side are not: rclone skips a --files-from name it does not find.
    await flow.step(
      'Verify the destination',
      () => verifyFresh(store.rclone, target, files, plan.seed),
      () =>
        `${plan.send.length} sent objects checked by rclone, ${plan.seed.length} copied objects looked up, ` +
        `${plan.unchanged.length} unchanged`,
    );
    await flow.step('Record the run on the PVC', () =>
      recordRun(run, store.rclone.destination.display, {
        files: entries,
        bytesSent: sent.bytes,
        transferSeconds: sent.seconds,
        seconds: (Date.now() - started) / 1000,
      }),
    );
    const result: LocalBackupResult = {
      mode: 'local',
      pvc: options.pvc,
      namespace: options.namespace,
      destination: store.rclone.destination.display,
      target: runTarget(store.rclone.destination, run.folder, store.rclone.destination.displayRoot),
      clone: volume.live ? undefined : claim,
      snapshot: volume.snapshot,
      files: files.filter((f) => f.type === 'file' || f.type === 'symlink').length,
      filesSent: plan.send.length,
      filesFromServer: sent.fromServer,
      filesUnchanged: plan.unchanged.length,
      filesSeeded: plan.seed.length,
      filesDeleted: plan.delete.length,
      filesSkipped: plan.skippedTypes.length,
      bytesSent: sent.bytes,
      bytesSkipped: bytesNotSent(files, plan),
      channelBytes: sent.channelBytes,
      streamResumes: sent.resumes,
      durationSeconds: 0,
      checksums: 'verified',
    };
    return result;
  }).then((result) => ({ ...result, durationSeconds: Math.round((Date.now() - started) / 100) / 10 }));
}

/** What every step of one run shares; it never changes once the run has started. */
export interface Run {
  readonly kube: KubeConnection;
  readonly options: LocalBackupOptions;
  readonly flow: Flow;
  readonly log: Logger;
  readonly now: Date;
  readonly runId: string;
  /** The run's YYYY-MM-DD-HHMMSS folder with --timestamp-prefix. */
  readonly folder?: string;
  /** The helper pod's server, with --transport port-forward. */
  readonly server?: PodServer;
}

export function newRun(kube: KubeConnection, options: LocalBackupOptions, flow: Flow, log: Logger): Run {
  const now = new Date();
  return {
    kube,
    options,
    flow,
    log,
    now,
    runId: randomBytes(3).toString('hex'),
    folder: options.timestampPrefix ? timestampFolder(now) : undefined,
    server: options.transport === 'port-forward' ? newPodServer('read-only') : undefined,
  };
}

interface PreparedStore {
  source: V1PersistentVolumeClaim;
  rclone: RcloneContext;
  version: string;
  display: string;
}

/** The PVC, rclone and the destination, checked (and, unless `dryRun`, written to and deleted from). */
export async function preflight(run: Run, dryRun = false): Promise<PreparedStore> {
  const { kube, options, flow, log } = run;
  await requirePermissions(kube, options.namespace, permissionsFor(options));
  const source = await getBoundPvc(kube, options.namespace, options.pvc);
  const { rclone, rcloneVersion } = await openStore(kube, options.destination, {
    verbosity: log.verbosity,
    signal: flow.signal,
  });
  if (options.transport === 'port-forward' && !listsMd5s(rclone.destination))
    throw new UserError(
      `--transport port-forward sends to S3 only (with MD5s), not to ${rclone.destination.display}`,
      'leave out --transport for this destination (a --remote counts as S3 when rclone listremotes --long ' +
        'gives its type as s3, without --encrypt)',
    );
  if (options.transport === 'port-forward') requireKubectl();
  if (!dryRun) await checkDestinationWritable(rclone);
  return { source, rclone, version: rcloneVersion, display: rclone.destination.display };
}

/** What the preflight asks the API server for, by source. */
export function permissionsFor(
  options: Pick<LocalBackupOptions, 'destination' | 'source' | 'transport'>,
): Permission[] {
  const needed = [
    ...LOCAL_BACKUP,
    ...(options.destination.secret ? [READ_SECRET] : []),
    ...(options.transport === 'port-forward' ? PORT_FORWARD : []),
  ];
  const { source } = options;
  // Reading the live PVC, no PVC is created or deleted: only read; otherwise pods are not listed (attachedNode).
  if (source.kind === 'live') return needed.filter((p) => p.resource !== 'persistentvolumeclaims' || p.verb === 'get');
  const made = needed.filter((p) => p.resource !== 'pods' || p.verb !== 'list');
  if (source.kind === 'existing-snapshot') return [...made, ...EXISTING_SNAPSHOT];
  if (source.kind === 'clone') return made;
  // A named class is read; otherwise the classes are listed to find the driver's.
  const classVerb = source.className ? 'get' : 'list';
  return [...made, ...SNAPSHOT_SOURCE.filter((p) => p.resource !== 'volumesnapshotclasses' || p.verb === classVerb)];
}

export async function startHelper(
  run: Run,
  volume: VolumeToRead,
  privilege: HelperPrivilege,
  attempt: number,
): Promise<string> {
  const { kube, options, flow } = run;
  flow.enter('CreatingPod');
  // A clone is a new volume, used by nobody: it may be attached anywhere.
  return startHelperPod(kube, flow, {
    name: helperPodName(undefined, options.pvc, `${run.runId}${attempt ? 'r' : ''}`),
    namespace: options.namespace,
    claimName: volume.claim,
    readOnly: true,
    labels: runLabels(options.pvc, run.runId),
    helper: options.helper,
    privilege,
    inUse: volume.live,
    beforeReady: attempt ? undefined : volume.untilBound,
    server: run.server,
  });
}

/** What the backup keeps of the listing (what the filters keep); what it cannot keep is said out loud. */
export function keptFiles(run: Run, listing: ListingResult): PodFile[] {
  if (listing.vanished) run.log.warn(`${listing.vanished} entries disappeared while the volume was listed`);
  const { filters } = run.options;
  return filters ? filterPodFiles(filters, listing.files) : listing.files;
}

/** The entries the filters keep: folders by the directory rules, everything else by the file rules too. */
export function filterPodFiles(filters: CompiledFilters, files: PodFile[]): PodFile[] {
  return files.filter((f) => (f.type === 'dir' ? keepsDir(filters, f.path) : keepsFile(filters, f.path)));
}

/** What the destination holds: the target's objects and, with timestamp folders, the previous folder's. */
export interface DestinationListing {
  current: Awaited<ReturnType<typeof listWithMtimes>>;
  previousFolder?: string;
  previous?: Awaited<ReturnType<typeof listWithMtimes>>;
}

/**
 * Lists the destination. It needs nothing of the volume: a backup starts it before the clone is made
 * (the rejection is heard in `compare`), so that it runs while the clone and the helper pod get ready.
 */
export function listDestination(run: Run, rclone: RcloneContext, target: string): Promise<DestinationListing> {
  const listing = (async () => {
    const { folder } = run;
    const current = await listWithMtimes(rclone, target);
    if (!folder) return { current };
    const folders = (await listRemoteFolders(rclone, rclone.destination.root))
      .filter((f) => TIMESTAMP_FOLDER_PATTERN.test(f) && f < folder)
      .sort();
    const previousFolder = folders.at(-1);
    if (!previousFolder) return { current };
    return {
      current,
      previousFolder,
      previous: await listWithMtimes(rclone, runTarget(rclone.destination, previousFolder)),
    };
  })();
  listing.catch(() => undefined); // a run that fails before comparing drops it
  return listing;
}

export async function compare(run: Run, files: PodFile[], listing: Promise<DestinationListing>): Promise<Comparison> {
  const { folder } = run;
  const { current, previousFolder, previous } = await listing;
  const { filters } = run.options;
  const plan = planTransfer(files, current.files, previous?.files, filters);
  for (const skipped of plan.skippedTypes)
    run.log.warn(
      `skipping "${quoteEscapedBytes(skipped.path)}": a FIFO, socket or device (not a regular file, folder or symlink)`,
    );
  // A new folder has nothing to prune; a plain sync never touches timestamp folders.
  plan.delete = folder ? [] : plan.delete.filter((key) => !TIMESTAMP_FOLDER_PATTERN.test(key.split('/')[0]!));
  // The last backup's manifest: the one at the target itself, or the previous timestamp folder's.
  return { plan, previousFolder, previousManifest: folder ? previous?.manifest : current.manifest };
}

export interface Comparison {
  plan: TransferPlan;
  previousFolder?: string;
  previousManifest?: BackupManifest;
}

export function describePlan(folder: string | undefined) {
  return ({ plan, previousFolder }: { plan: TransferPlan; previousFolder?: string }): string => {
    const { send, seed, unchanged } = plan;
    const seeded = folder ? `, ${seed.length} copied server-side from ${previousFolder ?? 'no previous backup'}` : '';
    return `${send.length} to send, ${unchanged.length} unchanged${seeded}, ${plan.delete.length} to delete`;
  };
}

async function seedFromPrevious(
  rclone: RcloneContext,
  plan: TransferPlan,
  previousFolder: string | undefined,
  target: string,
): Promise<void> {
  if (!plan.seed.length) return;
  const from = runTarget(rclone.destination, previousFolder);
  await runRclone(rclone, ['copy', from, target, '--files-from-raw', '-', '--no-traverse', '--no-check-dest'], {
    input: filesFromList(plan.seed),
    what: `copying unchanged files from ${previousFolder}`,
  });
}

interface Sent {
  files: number;
  fromServer: number;
  bytes: number;
  channelBytes: number;
  resumes: number;
  /** The MD5 of each regular file sent. */
  md5s: Map<string, string>;
  seconds: number;
}

async function transfer(
  run: Run,
  what: {
    pod: string;
    plan: TransferPlan;
    rclone: RcloneContext;
    rcloneVersion: string;
    target: string;
    report: (detail: string) => void;
  },
): Promise<Sent> {
  const { kube, options, flow } = run;
  if (!what.plan.send.length)
    return { files: 0, fromServer: 0, bytes: 0, channelBytes: 0, resumes: 0, md5s: new Map(), seconds: 0 };
  const startedAt = Date.now();
  const large = run.server ? serverFiles(what.plan.send) : [];
  const md5s = large.length
    ? await copyFromServer({
        ...what,
        kube,
        namespace: options.namespace,
        server: run.server!,
        files: large,
        signal: flow.signal,
      })
    : new Map<string, string>();
  const served = new Set(large);
  const rest = what.plan.send.filter((f) => !served.has(f));
  const bytes = large.reduce((sum, f) => sum + f.size, 0);
  const seconds = () => (Date.now() - startedAt) / 1000;
  const fromServer = { files: large.length, fromServer: large.length, bytes, channelBytes: bytes, resumes: 0, md5s };
  if (!rest.length) return { ...fromServer, seconds: seconds() };
  const stagingDir = await mkdtemp(join(options.stagingParent ?? tmpdir(), 'kubectl-datamover-'));
  flow.defer('remove the local staging folder', () => rm(stagingDir, { recursive: true, force: true }));
  const sent = await streamAndUpload({
    kube,
    namespace: options.namespace,
    pod: what.pod,
    files: rest,
    rclone: what.rclone,
    rcloneVersion: what.rcloneVersion,
    target: what.target,
    stagingDir,
    stagingCapBytes: options.stagingCapBytes,
    signal: flow.signal,
    report: what.report,
  });
  await rm(stagingDir, { recursive: true, force: true });
  for (const [path, md5] of md5s) sent.md5s.set(path, md5);
  return {
    ...sent,
    files: sent.files + large.length,
    fromServer: large.length,
    bytes: sent.bytes + bytes,
    channelBytes: sent.channelBytes + bytes,
    seconds: seconds(),
  };
}

/** The bytes of the files not sent: unchanged, or copied server-side. */
function bytesNotSent(files: PodFile[], plan: TransferPlan): number {
  const sizes = (list: PodFile[]) => list.reduce((sum, f) => sum + f.size, 0);
  if (!plan.seed.length) return sizes(plan.unchanged);
  const seeded = new Set(plan.seed);
  return sizes(plan.unchanged) + sizes(files.filter((f) => seeded.has(objectKey(f))));
}

function describeTransfer(sent: Sent): string {
  if (sent.files === 0 && sent.seconds === 0) return 'nothing to send';
  const rate = formatBytes(sent.bytes / Math.max(sent.seconds, 0.001));
  return `${sent.files} files, ${formatBytes(sent.bytes)}, ${rate}/s`;
}

async function deleteRemoved(rclone: RcloneContext, plan: TransferPlan, target: string): Promise<void> {
  if (!plan.delete.length) return;
  await runRclone(rclone, ['delete', target, '--files-from-raw', '-', '--no-traverse'], {
    input: filesFromList(plan.delete),
    what: 'deleting removed files',
  });
}

/** Writes the run's manifest (its entries one piece at a time); how many entries it holds. */
async function writeRunManifest(
  run: Run,
  rclone: RcloneContext,
  files: PodFile[],
  /** The MD5s of the files sent; the unchanged files' ones are added to it here. */
  md5: Map<string, string>,
  at: { target: string; previous?: BackupManifest },
): Promise<number> {
  // Keep the MD5s of unchanged files from the last backup's manifest, if any (compare read it).
  const { previous } = at;
  for (const entry of previous?.entries ?? []) if (entry.md5 && !md5.has(entry.path)) md5.set(entry.path, entry.md5);
  const { namespace, pvc, filters } = run.options;
  warnOnChangedFilters(run, previous, filters);
  const head = manifestHead({
    createdAt: run.now.toISOString(),
    namespace,
    pvc,
    ...(filters ? { filters: filters.args, filterRules: ruleLines(filters) } : {}),
  });
  let entries = 0;
  const counted = function* () {
    for (const entry of manifestEntries(files, md5)) {
      entries++;
      yield entry;
    }
  };
  await writeManifest(rclone, at.target, head, counted());
  return entries;
}

/** A run with other filters than the last backup's at the target covers another part of the volume. */
function warnOnChangedFilters(run: Run, previous: BackupManifest | undefined, filters?: CompiledFilters): void {
  if (!previous) return;
  const before = (previous.filterRules ?? []).join('\n');
  const now = filters ? ruleLines(filters).join('\n') : '';
  if (before === now) return;
  const said = (args?: string[]) => (args?.length ? args.join(' ') : 'no filters');
  run.log.warn(
    `the filters changed since the last backup (${said(previous.filters)}; now ${said(filters?.args)}): ` +
      'this backup covers another part of the volume',
  );
}

/** Unchanged files were seen at the destination by the comparison; the new ones are looked up. */
async function verifyFresh(rclone: RcloneContext, target: string, files: PodFile[], fresh: string[]): Promise<void> {
  if (fresh.length === 0) return;
  const objects =
    fresh.length > files.length / 2
      ? await listRemoteObjects(rclone, target, false)
      : await listRemoteFiles(rclone, target, fresh);
  const wanted = new Set(fresh);
  for (const file of files) {
    const key = objectKey(file);
    if (wanted.has(key) && objects.get(key)?.size !== file.size)
      throw new UserError(`"${key}" is missing or has the wrong size at the destination`, 'run the backup again');
  }
}

/** What the PVC's annotation says of the last backup (dry-run estimates its time from it). */
export interface RecordedRun {
  time: string;
  destination: string;
  target: string;
  result: 'Completed';
  files: number;
  bytesSent?: number;
  transferSeconds?: number;
  seconds?: number;
}

async function recordRun(
  run: Run,
  destination: string,
  figures: Pick<RecordedRun, 'files' | 'bytesSent' | 'transferSeconds' | 'seconds'>,
): Promise<void> {
  const { kube, options, log } = run;
  const record: RecordedRun = {
    time: run.now.toISOString(),
    destination,
    target: run.folder ?? '',
    result: 'Completed',
    ...figures,
  };
  await annotatePvc(kube, options.namespace, options.pvc, LAST_BACKUP_ANNOTATION, record).catch((err: unknown) => {
    log.warn(`could not record the run on PVC "${options.pvc}" (${(err as Error).message})`);
  });
}
