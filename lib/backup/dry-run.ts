// `backup --dry-run`: the plan of a backup without doing it. The live PVC is listed by a
// read-only helper pod (removed after) and compared with the destination: what would be sent,
// copied server-side, left unchanged or deleted there, and how long that should take at the
// rate of the last recorded run. No clone or snapshot is made, nothing is written anywhere.
import type { KubeConnection } from '../kube/connection.ts';
import type { Logger } from '../log.ts';
import { deletePod } from '../kube/helper-pod.ts';
import { LAST_BACKUP_ANNOTATION } from '../kube/labels.ts';
import { runTarget } from '../destination/destination.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { objectKey } from '../store/object-keys.ts';
import { runFlow } from '../flow/runner.ts';
import { startVolumeReader } from '../flow/read-volume.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { formatBytes } from '../format/size.ts';
import { formatDuration } from '../format/duration.ts';
import {
  compare,
  listDestination,
  describePlan,
  keptFiles,
  type LocalBackupOptions,
  preflight,
  newRun,
  type RecordedRun,
  startHelper,
} from './local-backup.ts';

export interface Tally {
  files: number;
  bytes: number;
}

export interface LocalBackupPlan {
  dryRun: true;
  pvc: string;
  namespace: string;
  destination: string;
  target: string;
  send: Tally;
  copyServerSide: Tally;
  unchanged: Tally;
  /** Objects at the destination the volume no longer has. */
  delete: { files: number };
  /** FIFOs, sockets, devices: not kept. */
  skipped: number;
  /** Seconds the run should take, from the last recorded run (absent without one). */
  estimatedSeconds?: number;
  /** The last recorded run the estimate comes from. */
  estimatedFrom?: Pick<RecordedRun, 'time' | 'bytesSent' | 'transferSeconds' | 'seconds'>;
}

export async function planLocalBackup(
  kube: KubeConnection,
  options: LocalBackupOptions,
  progress: ProgressRenderer,
  log: Logger,
): Promise<LocalBackupPlan> {
  return runFlow({ progress }, async (flow) => {
    // The live volume has what a clone of it would: nothing needs to be made to list it.
    const run = newRun(kube, { ...options, source: { kind: 'live' } }, flow, log);
    const store = await flow.step(
      'Preflight checks',
      () => preflight(run, true),
      (s) => `rclone ${s.version}, ${s.display} (not written to)`,
    );
    const target = runTarget(store.rclone.destination, run.folder);
    const listing = listDestination(run, store.rclone, target);
    const volume = { claim: options.pvc, live: store.source };
    const reader = await startVolumeReader(kube, flow, {
      namespace: options.namespace,
      runAs: options.helper.runAs,
      start: (privilege, attempt) => startHelper(run, volume, privilege, attempt),
      stop: (name) => deletePod(kube, options.namespace, name),
    });
    const files = keptFiles(run, reader.listing);
    const { plan } = await flow.step(
      'Compare with the destination',
      () => compare(run, files, listing),
      describePlan(run.folder),
    );
    const byKey = new Map(files.map((f) => [objectKey(f), f]));
    const seeded = plan.seed.map((key) => byKey.get(key)).filter((f): f is PodFile => f !== undefined);
    const send = tally(plan.send);
    const last = lastRun(store.source.metadata?.annotations?.[LAST_BACKUP_ANNOTATION]);
    const estimatedSeconds = last && estimateSeconds(last, send.bytes);
    return {
      dryRun: true as const,
      pvc: options.pvc,
      namespace: options.namespace,
      destination: store.rclone.destination.display,
      target: runTarget(store.rclone.destination, run.folder, store.rclone.destination.displayRoot),
      send,
      copyServerSide: tally(seeded),
      unchanged: tally(plan.unchanged),
      delete: { files: plan.delete.length },
      skipped: plan.skippedTypes.length,
      ...(estimatedSeconds !== undefined && last
        ? {
            estimatedSeconds,
            estimatedFrom: {
              time: last.time,
              bytesSent: last.bytesSent,
              transferSeconds: last.transferSeconds,
              seconds: last.seconds,
            },
          }
        : {}),
    };
  });
}

function tally(files: PodFile[]): Tally {
  return { files: files.length, bytes: files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0) };
}

function lastRun(raw: string | undefined): RecordedRun | undefined {
  try {
    return raw ? (JSON.parse(raw) as RecordedRun) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A run's time: what the last run spent besides its transfer (preflight, clone, pod, listing,
 * verify), plus the bytes to send at the rate its transfer had. Undefined when the last run
 * did not record its times, or sent nothing while this one would send bytes (no rate to use).
 */
export function estimateSeconds(last: RecordedRun, bytesToSend: number): number | undefined {
  const { seconds, transferSeconds, bytesSent } = last;
  if (seconds === undefined || transferSeconds === undefined || bytesSent === undefined) return undefined;
  const overhead = Math.max(0, seconds - transferSeconds);
  if (bytesToSend === 0) return Math.round(overhead);
  if (bytesSent === 0 || transferSeconds <= 0) return undefined;
  return Math.round(overhead + bytesToSend / (bytesSent / transferSeconds));
}

export function renderPlanText(p: LocalBackupPlan): string {
  const sized = (t: Tally) => `${t.files} files, ${formatBytes(t.bytes)}`;
  const estimate =
    p.estimatedSeconds !== undefined && p.estimatedFrom
      ? `about ${formatDuration(p.estimatedSeconds * 1000)} (at the rate of the run of ${p.estimatedFrom.time})`
      : 'unknown (no earlier run recorded its times on the PVC)';
  return [
    `Dry run: nothing was written. A backup of PVC ${p.namespace}/${p.pvc} to ${p.target} (${p.destination}) would:`,
    `  send:                  ${sized(p.send)}`,
    `  copy server-side:      ${sized(p.copyServerSide)}`,
    `  leave unchanged:       ${sized(p.unchanged)}`,
    `  delete at destination: ${p.delete.files} files`,
    ...(p.skipped ? [`  skip:                  ${p.skipped} FIFOs, sockets or devices`] : []),
    `  take:                  ${estimate}`,
    '',
  ].join('\n');
}
