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
import type { V1PersistentVolumeClaim, V1ResourceRequirements } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { UserError } from '../errors.ts';
import { requirePermissions } from '../kube/access.ts';
import { LOCAL_RESTORE } from '../kube/permissions.ts';
import { ignoreNotFound } from '../kube/api-errors.ts';
import { annotatePvc, createPvc, deletePvc, getBoundPvc, waitForBound } from '../kube/pvc.ts';
import {
  buildHelperPod,
  createHelperPod,
  deletePod,
  HELPER_CONTAINER,
  helperDeadlineSeconds,
  helperPodName,
  waitForPodReady,
} from '../kube/helper-pod.ts';
import { MANAGED_BY, RUN_LABEL } from '../kube/labels.ts';
import { findRclone } from '../rclone/binary.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { readManifest } from '../rclone/manifest-io.ts';
import { resolveDestination } from '../backup/destination-check.ts';
import { pathOfObject } from '../backup/plan.ts';
import type { BackupManifest } from '../backup/manifest.ts';
import { captureFromPod, captureFromPodOrFail } from '../stream/exec-channel.ts';
import { commitPartFiles, packDirs, packFiles, sendTar, withResumes } from './send-batch.ts';
import { nulList } from '../stream/pod-files.ts';
import { listPodFiles } from '../stream/pod-commands.ts';
import { createFlow, runFlow, type Step } from '../flow/runner.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { formatBytes } from '../format/size.ts';
import { chooseBackup, listBackups, type Backup } from './catalog.ts';

export const RESTORE_ANNOTATION = 'datamover.a-cup-of.coffee/restore';

export interface RestoreOptions {
  namespace: string;
  from: string;
  secret?: string;
  remote?: string;
  toPvc: string;
  create: boolean;
  size?: string;
  storageClass?: string;
  overwrite: boolean;
  /** With overwrite: delete files in the PVC that the backup does not hold. */
  deleteExtra: boolean;
  helperImage: string;
  resources?: V1ResourceRequirements;
  rclonePath: string;
  extraEnv: Record<string, string>;
  timeoutMs: number;
  batchBytes: number;
  encrypt?: boolean;
  passwordSecret?: string;
  passwordEnv?: string;
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

export async function runRestore(
  kube: KubeConnection,
  options: RestoreOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<RestoreResult> {
  const started = Date.now();
  const flow = createFlow();
  const { namespace } = options;
  const runId = randomBytes(3).toString('hex');
  const state: {
    rclone?: RcloneContext;
    backup?: Backup;
    manifest?: BackupManifest;
    pod?: string;
    bytes?: number;
    complete?: boolean;
    display?: string;
  } = {};

  const steps: Step[] = [
    {
      title: 'Preflight checks',
      run: async () => {
        const rclone = await findRclone(options.rclonePath);
        await requirePermissions(kube, namespace, [
          ...LOCAL_RESTORE,
          ...(options.create ? [{ verb: 'create', resource: 'persistentvolumeclaims' }] : []),
        ]);
        const destination = await resolveDestination(kube, namespace, { ...options, rclonePath: rclone.path });
        state.display = destination.display;
        state.rclone = {
          binary: rclone.path,
          destination,
          extraEnv: options.extraEnv,
          verbosity: log.verbosity,
          signal: flow.signal,
        };
        state.backup = chooseBackup(await listBackups(state.rclone, destination), options.from, destination.display);
        state.manifest = await readManifest(state.rclone, state.backup.path);
        if (!state.manifest)
          log.warn(
            `backup ${state.backup.name} has no manifest: file modes, empty folders and folder times cannot be restored`,
          );
        return `backup ${state.backup.name}: ${state.backup.files} files, ${formatBytes(state.backup.bytes)}`;
      },
    },
    {
      title: 'Prepare the target PVC',
      run: async (report) => {
        const existing = await targetPvc(kube, namespace, options.toPvc);
        if (existing) return `${options.toPvc} exists`;
        if (!options.create)
          throw new UserError(
            `PVC "${options.toPvc}" does not exist in namespace "${namespace}"`,
            'create it, or pass --create --size SIZE [--storage-class SC]',
          );
        if (!options.size) throw new UserError('--create needs --size', "e.g. --size 5Gi (at least the backup's size)");
        const pvc: V1PersistentVolumeClaim = {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: options.toPvc, namespace, labels: { ...MANAGED_BY } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: options.storageClass,
            resources: { requests: { storage: options.size } },
          },
        };
        await createPvc(kube, pvc);
        report(`waiting for ${options.toPvc} to be Bound`);
        // A PVC that never binds holds nothing: remove it, so that a re-run starts clean.
        await waitForBound(kube, namespace, options.toPvc, options.timeoutMs, flow.signal).catch(
          async (err: unknown) => {
            await deletePvc(kube, namespace, options.toPvc);
            throw err;
          },
        );
        return `created ${options.toPvc} (${options.size})`;
      },
    },
    {
      title: 'Start the helper pod',
      run: async () => {
        const name = helperPodName('restore', options.toPvc, runId);
        await createHelperPod(
          kube,
          buildHelperPod({
            name,
            namespace,
            claimName: options.toPvc,
            image: options.helperImage,
            readOnly: false,
            labels: { ...MANAGED_BY, [RUN_LABEL]: runId },
            deadlineSeconds: helperDeadlineSeconds(options.timeoutMs),
            resources: options.resources,
          }),
        );
        flow.defer(`delete helper pod ${name}`, () => deletePod(kube, namespace, name));
        await waitForPodReady(kube, namespace, name, options.timeoutMs, flow.signal);
        state.pod = name;
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
      },
    },
    {
      title: 'Restore the files',
      run: async (report) => {
        await annotatePvc(kube, namespace, options.toPvc, RESTORE_ANNOTATION, {
          state: 'in-progress',
          from: `${state.display} ${state.backup!.name}`,
          time: new Date().toISOString(),
        });
        flow.defer('mark the PVC', async () => {
          if (!state.complete)
            await annotatePvc(kube, namespace, options.toPvc, RESTORE_ANNOTATION, {
              state: 'incomplete',
              from: `${state.display} ${state.backup!.name}`,
              time: new Date().toISOString(),
            });
        });
        const staging = await mkdtemp(join(tmpdir(), 'kubectl-datamover-restore-'));
        flow.defer('remove the local staging folder', () => rm(staging, { recursive: true, force: true }));
        const entries = new Map((state.manifest?.entries ?? []).map((e) => [e.path, e]));
        let bytes = 0;
        let done = 0;
        for (const batch of batches(state.backup!, options.batchBytes)) {
          const dir = join(staging, `batch-${done}`);
          await runRclone(
            state.rclone!,
            ['copy', state.backup!.path, dir, '--files-from-raw', '-', '--links', '--no-traverse'],
            { input: `${batch.join('\n')}\n`, what: `downloading from ${state.display}` },
          );
          await withResumes({ kube, namespace, pod: state.pod!, signal: flow.signal, report }, async () => {
            await sendTar(kube, namespace, state.pod!, (pack) => packFiles(pack, dir, batch, entries), flow.signal);
            await commitPartFiles(kube, namespace, state.pod!, batch.map(pathOfObject), flow.signal);
          });
          await rm(dir, { recursive: true, force: true });
          done += batch.length;
          bytes += batch.reduce((sum, key) => sum + (state.backup!.objects.get(key)?.size ?? 0), 0);
          report(`${done}/${state.backup!.files} files, ${formatBytes(bytes)}`);
        }
        const dirs = [...entries.values()]
          .filter((e) => e.type === 'dir')
          .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
        if (dirs.length) await sendTar(kube, namespace, state.pod!, (pack) => packDirs(pack, dirs), flow.signal);
        state.bytes = bytes;
        return `${done} files, ${formatBytes(bytes)}, ${dirs.length} folders`;
      },
    },
    {
      title: 'Verify the restored files',
      run: async () => {
        const listing = await listPodFiles(kube, { namespace, pod: state.pod!, signal: flow.signal });
        const restored = new Map(listing.map((f) => [f.path, f]));
        if (options.deleteExtra) {
          const wanted = new Set([...state.backup!.objects.keys()].map(pathOfObject));
          const extra = listing.filter((f) => f.type !== 'dir' && !wanted.has(f.path)).map((f) => f.path);
          if (extra.length) {
            await captureFromPodOrFail(
              kube,
              {
                namespace,
                pod: state.pod!,
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
        for (const [key, object] of state.backup!.objects) {
          const path = pathOfObject(key);
          const file = restored.get(path);
          if (!file || (file.type === 'file' && file.size !== object.size))
            throw new UserError(
              `"${path}" is missing or has the wrong size in the PVC after the restore`,
              'run the restore again with --overwrite',
            );
        }
        state.complete = true;
        await annotatePvc(kube, namespace, options.toPvc, RESTORE_ANNOTATION, {
          state: 'complete',
          from: `${state.display} ${state.backup!.name}`,
          time: new Date().toISOString(),
        });
        return `${state.backup!.files} files`;
      },
    },
  ];
  await runFlow(flow, steps, progress);
  return {
    from: state.backup!.name,
    source: state.display!,
    pvc: options.toPvc,
    namespace,
    files: state.backup!.files,
    bytes: state.bytes ?? 0,
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

function targetPvc(
  kube: KubeConnection,
  namespace: string,
  name: string,
): Promise<V1PersistentVolumeClaim | undefined> {
  return getBoundPvc(kube, namespace, name).catch(ignoreNotFound);
}

function batches(backup: Backup, capBytes: number): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [key, object] of [...backup.objects.entries()].sort(([a], [b]) => a.localeCompare(b))) {
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
