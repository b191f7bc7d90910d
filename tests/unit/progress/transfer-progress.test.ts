import assert from 'node:assert/strict';
import { progressBar, transferFraction, transferLine } from '../../../lib/progress/transfer-progress.ts';

const MiB = 1024 * 1024;
const counts = {
  totalBytes: 1000 * MiB,
  doneBytes: 250 * MiB,
  arrivedBytes: 600 * MiB,
  files: 0,
  totalFiles: 1,
  elapsedMs: 10_000,
  doneVerb: 'uploaded',
};

describe('transfer progress', () => {
  it('counts what reached the destination, and shows what arrived (a file in flight included)', () => {
    assert.equal(
      transferLine(counts),
      '25% · 250.0 MiB of 1000.0 MiB uploaded, 600.0 MiB arrived, 0/1 files · 25.0 MiB/s · ETA 30s',
    );
    assert.equal(transferFraction(counts), 0.25);
  });

  it('says the time left is unknown before anything is done, and 0s only when everything is', () => {
    assert.match(transferLine({ ...counts, doneBytes: 0 }), /^0% .* ETA unknown$/);
    assert.match(transferLine({ ...counts, doneBytes: counts.totalBytes }), /^100% .* ETA 0s$/);
    assert.match(transferLine({ ...counts, doneBytes: counts.totalBytes - 1 }), /^99% /);
  });

  it('treats an empty transfer as done', () => {
    assert.equal(transferFraction({ ...counts, totalBytes: 0, doneBytes: 0 }), 1);
  });

  it('draws a bar of the share done', () => {
    assert.equal(progressBar(0.5, 10), '[█████░░░░░]');
    assert.equal(progressBar(0, 4), '[░░░░]');
    assert.equal(progressBar(1.5, 4), '[████]');
  });
});
