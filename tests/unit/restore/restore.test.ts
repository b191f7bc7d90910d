import assert from 'node:assert/strict';
import { UsageError, exitCodeOf } from '../../../lib/errors.ts';
import { restoreBatches, validateRestoreFlags } from '../../../lib/restore/restore.ts';

function sizes(entries: Record<string, number>): Map<string, { size: number }> {
  return new Map(Object.entries(entries).map(([key, size]) => [key, { size }]));
}

describe('restore batches', () => {
  it('takes the objects in name order', () => {
    assert.deepEqual(restoreBatches(sizes({ 'c.txt': 1, 'a/b.txt': 1, 'b.txt': 1 }), 100), [
      ['a/b.txt', 'b.txt', 'c.txt'],
    ]);
  });

  it('closes a batch as soon as it reaches the cap', () => {
    assert.deepEqual(restoreBatches(sizes({ a: 40, b: 60, c: 10 }), 100), [['a', 'b'], ['c']]);
  });

  it('keeps filling a batch while it is below the cap', () => {
    assert.deepEqual(restoreBatches(sizes({ a: 40, b: 59, c: 1, d: 1 }), 100), [['a', 'b', 'c'], ['d']]);
  });

  it('puts an object bigger than the cap in a batch of its own', () => {
    assert.deepEqual(restoreBatches(sizes({ a: 100, big: 5000, c: 5 }), 100), [['a'], ['big'], ['c']]);
  });

  it('puts every object in exactly one batch', () => {
    const objects = new Map(Array.from({ length: 50 }, (_, i) => [`f${i}`, { size: (i * 37) % 23 }]));
    const keys = restoreBatches(objects, 30).flat();
    assert.deepEqual(keys.sort(), [...objects.keys()].sort());
  });

  it('closes a batch at the file cap, however small its files', () => {
    assert.deepEqual(restoreBatches(sizes({ a: 1, b: 1, c: 1, d: 1, e: 1 }), 100, 2), [['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('makes no batch for an empty backup', () => {
    assert.deepEqual(restoreBatches(new Map(), 100), []);
  });
});

describe('restore flags', () => {
  const ok = { create: false, delete: false, overwrite: false };

  it('refuses --delete without --overwrite as a usage error (exit code 2)', () => {
    assert.throws(
      () => validateRestoreFlags({ ...ok, delete: true }),
      (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && /--delete/.test(err.message),
    );
  });

  it('refuses --create without --size as a usage error (exit code 2)', () => {
    assert.throws(
      () => validateRestoreFlags({ ...ok, create: true }),
      (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && /--size/.test(err.message),
    );
  });

  it('accepts --overwrite --delete and --create --size', () => {
    assert.doesNotThrow(() => validateRestoreFlags({ create: true, size: '5Gi', delete: true, overwrite: true }));
  });
});
