// Local mode: back up a PVC through the Kubernetes API into the user's own
// rclone. The flow, as ordered steps with cleanups: preflight, clone, helper
// pod, list, compare, seed, hash, transfer, prune deleted files, verify,
// record. See README "Local mode" for the design and its limits.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim, V1ResourceRequirements } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import { requirePermissions } from '../kube/access.ts';
import { LOCAL_BACKUP, READ_SECRET } from '../kube/permissions.ts';
import { annotatePvc, buildClone, cloneName, createPvc, deletePvc, getBoundPvc, waitForBound } from '../kube/pvc.ts';
import {
  buildHelperPod,
  createHelperPod,
  deletePod,
  helperDeadlineSeconds,
  helperPodName,
  waitForPodReady,
} from '../kube/helper-pod.ts';
import { LAST_BACKUP_ANNOTATION, runLabels } from '../kube/labels.ts';
import { findRclone } from '../rclone/binary.ts';
import { listRemoteFiles, listRemoteFolders } from '../rclone/listing.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import {
  joinRemote,
  runTarget,
  timestampFolder,
  TIMESTAMP_FOLDER_PATTERN,
  type Destination,
} from '../destination/destination.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { hashPodFiles, listPodFiles } from '../stream/pod-commands.ts';
import { createFlow, runFlow, type Step } from '../flow/runner.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { formatBytes } from '../format/size.ts';
import { objectKey, planTransfer, type TransferPlan } from './plan.ts';
import { buildManifest, MANIFEST_NAME } from './manifest.ts';
import { readManifest } from '../rclone/manifest-io.ts';
import { checkDestinationWritable, resolveDestination } from './destination-check.ts';
import { streamAndUpload } from './transfer.ts';
import { PhaseClock } from '../metrics/phase-clock.ts';

export interface LocalBackupOptions {
  pvc: string;
  namespace: string;
  secret?: string;
  remote?: string;
  timestampPrefix: boolean;
  clone: boolean;
  keepClone: boolean;
  helperImage: string;
  rclonePath: string;
  extraEnv: Record<string, string>;
  timeoutMs: number;
  stagingCapBytes: number;
  stagingParent?: string;
  encrypt?: boolean;
  passwordSecret?: string;
  passwordEnv?: string;
  /** Helper pod resources (--requests/--limits). */
  resources?: V1ResourceRequirements;
  /** Times the run's phases for the metrics (the clock outlives a failed run). */
  phases?: PhaseClock;
}

export interface LocalBackupResult {
  mode: 'local';
  pvc: string;
  namespace: string;
  destination: string;
  target: string;
  clone?: string;
  files: number;
  filesSent: number;
  filesUnchanged: number;
  filesSeeded: number;
  filesDeleted: number;
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
  const now = new Date();
  const runId = randomBytes(3).toString('hex');
  const phases = options.phases ?? new PhaseClock();
  const flow = createFlow(phases);
  const { namespace } = options;
  const folder = options.timestampPrefix ? timestampFolder(now) : undefined;
  const state: {
    source?: V1PersistentVolumeClaim;
    destination?: Destination;
    rclone?: RcloneContext;
    volumeClaim?: string;
    pod?: string;
    files?: PodFile[];
    plan?: TransferPlan;
    previousFolder?: string;
    podMd5?: Map<string, string>;
    sent?: { files: number; bytes: number; channelBytes: number; resumes: number };
  } = {};
  const target = () => runTarget(state.destination!, folder);

  const steps: Step[] = [
    {
      title: 'Preflight checks',
      run: async () => {
        const rcloneBinary = await findRclone(options.rclonePath);
        const needed = options.secret ? [...LOCAL_BACKUP, READ_SECRET] : LOCAL_BACKUP;
        await requirePermissions(
          kube,
          namespace,
          options.clone ? needed : needed.filter((p) => p.resource !== 'persistentvolumeclaims' || p.verb === 'get'),
        );
        state.source = await getBoundPvc(kube, namespace, options.pvc);
        state.destination = await resolveDestination(kube, namespace, { ...options, rclonePath: rcloneBinary.path });
        state.rclone = {
          binary: rcloneBinary.path,
          destination: state.destination,
          extraEnv: options.extraEnv,
          verbosity: log.verbosity,
          signal: flow.signal,
        };
        await checkDestinationWritable(state.rclone);
        return `rclone ${rcloneBinary.version}, ${state.destination.display}`;
      },
    },
    {
      title: options.clone ? 'Clone the PVC' : 'Use the live PVC (not a point-in-time copy)',
      run: async (report) => {
        if (!options.clone) {
          log.warn(
            `--no-clone: reading the live PVC "${options.pvc}"; files that change during the backup may be inconsistent`,
          );
          state.volumeClaim = options.pvc;
          return;
        }
        phases.enter('CreatingClonedPVC');
        const clone = buildClone(state.source!, cloneName(options.pvc, now), runLabels(options.pvc, runId));
        const name = clone.metadata!.name!;
        await createPvc(kube, clone);
        if (!options.keepClone) flow.defer(`delete clone ${name}`, () => deletePvc(kube, namespace, name));
        report(`waiting for ${name} to be Bound`);
        await waitForBound(kube, namespace, name, options.timeoutMs, flow.signal);
        phases.enter('ClonedPVCReady');
        state.volumeClaim = name;
        return name;
      },
    },
    {
      title: 'Start the helper pod',
      run: async () => {
        phases.enter('CreatingPod');
        const name = helperPodName(undefined, options.pvc, runId);
        const pod = buildHelperPod({
          name,
          namespace,
          claimName: state.volumeClaim!,
          image: options.helperImage,
          readOnly: true,
          labels: runLabels(options.pvc, runId),
          deadlineSeconds: helperDeadlineSeconds(options.timeoutMs),
          resources: options.resources,
        });
        await createHelperPod(kube, pod);
        flow.defer(`delete helper pod ${name}`, () => deletePod(kube, namespace, name));
        await waitForPodReady(kube, namespace, name, options.timeoutMs, flow.signal);
        state.pod = name;
        return name;
      },
    },
    {
      title: 'List the files in the volume',
      run: async () => {
        phases.enter('Transferring');
        state.files = await listPodFiles(kube, { namespace, pod: state.pod!, signal: flow.signal });
        const bytes = state.files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
        return `${state.files.filter((f) => f.type !== 'dir').length} files, ${formatBytes(bytes)}`;
      },
    },
    {
      title: 'Compare with the destination',
      run: async () => {
        const current = await listRemoteFiles(state.rclone!, target());
        let previous;
        if (folder) {
          const folders = (await listRemoteFolders(state.rclone!, state.destination!.root))
            .filter((f) => TIMESTAMP_FOLDER_PATTERN.test(f) && f < folder)
            .sort();
          state.previousFolder = folders.at(-1);
          if (state.previousFolder)
            previous = await listRemoteFiles(state.rclone!, runTarget(state.destination!, state.previousFolder));
        }
        state.plan = planTransfer(state.files!, current, previous);
        for (const skipped of state.plan.skippedTypes)
          log.warn(`skipping "${skipped.path}": not a regular file, folder or symlink`);
        if (folder)
          state.plan.delete = []; // a new folder has nothing to prune
        else state.plan.delete = state.plan.delete.filter((key) => !TIMESTAMP_FOLDER_PATTERN.test(key.split('/')[0]!));
        const { send, seed, unchanged } = state.plan;
        return `${send.length} to send, ${unchanged.length} unchanged${folder ? `, ${seed.length} copied server-side from ${state.previousFolder ?? 'no previous backup'}` : ''}, ${state.plan.delete.length} to delete`;
      },
    },
    {
      title: 'Copy unchanged files server-side',
      run: async () => {
        if (!state.plan!.seed.length) return 'nothing to copy';
        await runRclone(
          state.rclone!,
          [
            'copy',
            runTarget(state.destination!, state.previousFolder),
            target(),
            '--files-from-raw',
            '-',
            '--no-traverse',
            '--no-check-dest',
          ],
          {
            input: `${state.plan!.seed.join('\n')}\n`,
            what: `copying unchanged files from ${state.previousFolder}`,
          },
        );
        return `${state.plan!.seed.length} files from ${state.previousFolder}`;
      },
    },
    {
      title: 'Checksum the changed files in the pod',
      run: async () => {
        const regular = state.plan!.send.filter((f) => f.type === 'file').map((f) => f.path);
        state.podMd5 = await hashPodFiles(kube, { namespace, pod: state.pod!, signal: flow.signal }, regular);
        return regular.length ? `${state.podMd5.size} files` : 'nothing changed';
      },
    },
    {
      title: 'Transfer',
      run: async (report) => {
        if (!state.plan!.send.length) {
          state.sent = { files: 0, bytes: 0, channelBytes: 0, resumes: 0 };
          return 'nothing to send';
        }
        const stagingDir = await mkdtemp(join(options.stagingParent ?? tmpdir(), 'kubectl-datamover-'));
        flow.defer('remove the local staging folder', () => rm(stagingDir, { recursive: true, force: true }));
        const startedAt = Date.now();
        state.sent = await streamAndUpload({
          kube,
          namespace,
          pod: state.pod!,
          files: state.plan!.send,
          podMd5: state.podMd5!,
          rclone: state.rclone!,
          target: target(),
          stagingDir,
          stagingCapBytes: options.stagingCapBytes,
          signal: flow.signal,
          report,
        });
        await rm(stagingDir, { recursive: true, force: true });
        const seconds = (Date.now() - startedAt) / 1000;
        return `${state.sent.files} files, ${formatBytes(state.sent.bytes)}, ${formatBytes(state.sent.bytes / Math.max(seconds, 0.001))}/s`;
      },
    },
    {
      title: 'Delete files removed from the volume',
      run: async () => {
        if (!state.plan!.delete.length) return 'none';
        await runRclone(state.rclone!, ['delete', target(), '--files-from-raw', '-', '--no-traverse'], {
          input: `${state.plan!.delete.join('\n')}\n`,
          what: 'deleting removed files',
        });
        return `${state.plan!.delete.length} files`;
      },
    },
    {
      title: 'Write the backup manifest',
      run: async () => {
        // Keep the MD5s of unchanged files from the previous manifest, if any: the one
        // at the target itself, or the previous timestamp folder's (a new folder has none).
        const previousPath = folder
          ? state.previousFolder && runTarget(state.destination!, state.previousFolder)
          : target();
        const previous = previousPath ? await readManifest(state.rclone!, previousPath) : undefined;
        const md5 = new Map(previous?.entries.filter((e) => e.md5).map((e) => [e.path, e.md5!]) ?? []);
        for (const [path, sum] of state.podMd5!) md5.set(path, sum);
        const manifest = buildManifest(state.files!, md5, {
          createdAt: now.toISOString(),
          namespace,
          pvc: options.pvc,
        });
        await runRclone(state.rclone!, ['rcat', joinRemote(target(), MANIFEST_NAME)], {
          input: JSON.stringify(manifest),
          what: 'writing the backup manifest',
        });
        return `${manifest.entries.length} entries`;
      },
    },
    {
      // Checksums were compared twice already: the pod's MD5 with the bytes that
      // arrived (transfer), and rclone compares each upload with the local file.
      // What is left to prove is that every object of the volume is there.
      title: 'Verify the destination',
      run: async () => {
        // Unchanged files were seen at the destination by the comparison a moment ago;
        // the sent and server-side copied ones are looked up one by one.
        const fresh = [...state.plan!.send.map(objectKey), ...state.plan!.seed];
        const objects =
          fresh.length > state.files!.length / 2
            ? await listRemoteFiles(state.rclone!, target())
            : await listRemoteFiles(state.rclone!, target(), fresh);
        const byKey = new Map(state.files!.map((f) => [objectKey(f), f]));
        for (const key of fresh) {
          const file = byKey.get(key);
          if (file && objects.get(key)?.size !== file.size)
            throw new UserError(`"${key}" is missing or has the wrong size at the destination`, 'run the backup again');
        }
        return `${fresh.length} new objects checked, ${state.plan!.unchanged.length} unchanged`;
      },
    },
    {
      title: 'Record the run on the PVC',
      run: async () => {
        await annotatePvc(kube, namespace, options.pvc, LAST_BACKUP_ANNOTATION, {
          time: now.toISOString(),
          destination: state.destination!.display,
          target: folder ?? '',
          result: 'Completed',
          files: state.files!.length,
        }).catch((err: unknown) => {
          log.warn(`could not record the run on PVC "${options.pvc}" (${(err as Error).message})`);
        });
      },
    },
  ];

  await runFlow(flow, steps, progress);
  const plan = state.plan!;
  const skipped = new Set([...plan.unchanged.map(objectKey), ...plan.seed]);
  return {
    mode: 'local',
    pvc: options.pvc,
    namespace,
    destination: state.destination!.display,
    target: runTarget(state.destination!, folder, state.destination!.displayRoot),
    clone: options.clone ? state.volumeClaim : undefined,
    files: state.files!.filter((f) => f.type === 'file' || f.type === 'symlink').length,
    filesSent: plan.send.length,
    filesUnchanged: plan.unchanged.length,
    filesSeeded: plan.seed.length,
    filesDeleted: plan.delete.length,
    bytesSent: state.sent?.bytes ?? 0,
    bytesSkipped: state.files!.filter((f) => skipped.has(objectKey(f))).reduce((sum, f) => sum + f.size, 0),
    channelBytes: state.sent?.channelBytes ?? 0,
    streamResumes: state.sent?.resumes ?? 0,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    checksums: 'verified',
  };
}
