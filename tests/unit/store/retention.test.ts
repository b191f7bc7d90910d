import assert from 'node:assert/strict';
import { pruneSelection } from '../../../lib/store/retention.ts';

const folders = ['2026-01-01-000000', '2026-01-05-000000', '2026-01-09-120000', '2026-01-10-000000'];
const now = new Date('2026-01-10T06:00:00Z');

describe('prune policy', () => {
  it('keeps the N newest with --keep-last', () => {
    assert.deepEqual(pruneSelection(folders, now, { keepLast: 2 }).remove, ['2026-01-05-000000', '2026-01-01-000000']);
  });

  it('keeps what is within --keep-within', () => {
    assert.deepEqual(pruneSelection(folders, now, { keepWithinMs: 24 * 3600_000 }).keep, [
      '2026-01-10-000000',
      '2026-01-09-120000',
    ]);
  });

  it('keeps the union of both rules', () => {
    assert.deepEqual(pruneSelection(folders, now, { keepLast: 1, keepWithinMs: 6 * 86_400_000 }).remove, [
      '2026-01-01-000000',
    ]);
  });

  it('never removes the newest, even with --keep-last 0', () => {
    assert.deepEqual(pruneSelection(folders, now, { keepLast: 0 }).keep, ['2026-01-10-000000']);
  });
});
