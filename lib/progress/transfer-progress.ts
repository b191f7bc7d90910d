// The progress of a whole transfer, in one line: what has reached its destination (the upload
// of a backup, the writes of a restore) against the total, what has arrived so far (counting
// the bytes of a large file while it streams), the rate and the time left.
import { formatBytes } from '../format/size.ts';
import { formatDuration } from '../format/duration.ts';

export interface TransferCounts {
  totalBytes: number;
  /** Bytes at the destination, files in flight included. */
  doneBytes: number;
  /** Bytes arrived from the source, files in flight included. */
  arrivedBytes: number;
  /** Files done, where known (rclone's stats line does not say). */
  files?: number;
  totalFiles: number;
  elapsedMs: number;
  /** What the destination does: "uploaded", "written". */
  doneVerb: string;
}

/** The share done, from 0 to 1 (an empty transfer is done). */
export function transferFraction(counts: TransferCounts): number {
  return counts.totalBytes > 0 ? Math.min(1, counts.doneBytes / counts.totalBytes) : 1;
}

/** "42% · 600.0 MiB of 1.4 GiB uploaded, 1.0 GiB arrived, 3/10 files · 30.0 MiB/s · ETA 27s" */
export function transferLine(counts: TransferCounts): string {
  const percent = Math.floor(transferFraction(counts) * 100);
  const seconds = Math.max(counts.elapsedMs, 1) / 1000;
  const rate = counts.doneBytes / seconds;
  const left = Math.max(0, counts.totalBytes - counts.doneBytes);
  const eta = left === 0 ? '0s' : rate > 0 ? formatDuration((left / rate) * 1000) : 'unknown';
  return (
    `${percent}% · ${formatBytes(counts.doneBytes)} of ${formatBytes(counts.totalBytes)} ${counts.doneVerb}, ` +
    `${formatBytes(counts.arrivedBytes)} arrived, ` +
    `${counts.files === undefined ? '' : `${counts.files}/`}${counts.totalFiles} files · ` +
    `${formatBytes(rate)}/s · ETA ${eta}`
  );
}

/** A text bar for a terminal: "[██████░░░░░░░░░░░░░░]". */
export function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}
