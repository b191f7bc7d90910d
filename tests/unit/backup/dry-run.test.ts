import assert from 'node:assert/strict';
import { estimateSeconds, type LocalBackupPlan, renderPlanText } from '../../../lib/backup/dry-run.ts';
import type { RecordedRun } from '../../../lib/backup/local-backup.ts';

const MiB = 1024 * 1024;
const last: RecordedRun = {
  time: '2026-11-27T10:00:00.000Z',
  destination: 's3://b',
  target: '',
  result: 'Completed',
  files: 10,
  bytesSent: 100 * MiB,
  transferSeconds: 10,
  seconds: 25,
};

describe('backup --dry-run', () => {
  it("estimates the run's time: the last run's overhead, plus the bytes at its transfer rate", () => {
    assert.equal(estimateSeconds(last, 50 * MiB), 15 + 5);
    assert.equal(estimateSeconds(last, 0), 15);
  });

  it('gives no estimate without recorded times, or without a rate for bytes to send', () => {
    assert.equal(estimateSeconds({ ...last, seconds: undefined }, MiB), undefined);
    assert.equal(estimateSeconds({ ...last, bytesSent: 0, transferSeconds: 0 }, MiB), undefined);
    assert.equal(estimateSeconds({ ...last, bytesSent: 0, transferSeconds: 0 }, 0), 25);
  });

  it('says in words what would be sent, copied, left and deleted, and that nothing was written', () => {
    const plan: LocalBackupPlan = {
      dryRun: true,
      pvc: 'data',
      namespace: 'shop',
      destination: 's3://b at http://x:9000 (Secret s3)',
      target: 's3://b/',
      send: { files: 2, bytes: 3 * MiB },
      copyServerSide: { files: 0, bytes: 0 },
      unchanged: { files: 7, bytes: 1024 },
      delete: { files: 1 },
      skipped: 0,
      estimatedSeconds: 20,
      estimatedFrom: { time: last.time },
    };
    assert.equal(
      renderPlanText(plan),
      [
        'Dry run: nothing was written. A backup of PVC shop/data to s3://b/ ' +
          '(s3://b at http://x:9000 (Secret s3)) would:',
        '  send:                  2 files, 3.0 MiB',
        '  copy server-side:      0 files, 0 B',
        '  leave unchanged:       7 files, 1.0 KiB',
        '  delete at destination: 1 files',
        '  take:                  about 20s (at the rate of the run of 2026-11-27T10:00:00.000Z)',
        '',
      ].join('\n'),
    );
    assert.match(renderPlanText({ ...plan, estimatedSeconds: undefined }), /take: +unknown \(no earlier run/);
  });
});
