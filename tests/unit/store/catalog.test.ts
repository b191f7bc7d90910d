import assert from 'node:assert/strict';
import { UserError } from '../../../lib/errors.ts';
import { chooseBackup, timestampToIso, type Backup } from '../../../lib/store/catalog.ts';

function backup(name: string): Backup {
  return { name, path: `remote:bucket/${name}`, files: 0, bytes: 0, manifest: true, objects: new Map() };
}

// The order listBackups gives: plain first, then the timestamp folders oldest first.
const listed = ['plain', '2026-01-01-000000', '2026-01-05-093000', '2026-01-10-120000'].map(backup);

describe('backup catalog', () => {
  it('reads a timestamp folder name as a UTC time', () => {
    assert.equal(timestampToIso('2026-01-09-123456'), '2026-01-09T12:34:56Z');
  });

  it('gives a time that parses to the same instant', () => {
    assert.equal(Date.parse(timestampToIso('2026-02-28-235959')), Date.UTC(2026, 1, 28, 23, 59, 59));
  });

  it('--from latest picks the newest timestamp folder', () => {
    assert.equal(chooseBackup(listed, 'latest', 's3://bucket').name, '2026-01-10-120000');
  });

  it('--from latest never picks the plain backup, wherever it is listed', () => {
    const plainLast = ['2026-01-01-000000', '2026-01-05-093000', 'plain'].map(backup);
    assert.equal(chooseBackup(plainLast, 'latest', 's3://bucket').name, '2026-01-05-093000');
  });

  it('--from with a folder name picks that folder', () => {
    assert.equal(chooseBackup(listed, '2026-01-05-093000', 's3://bucket').name, '2026-01-05-093000');
  });

  it('--from plain picks the plain backup', () => {
    assert.equal(chooseBackup(listed, 'plain', 's3://bucket').path, 'remote:bucket/plain');
  });

  it('refuses an unknown name, saying where it looked', () => {
    assert.throws(
      () => chooseBackup(listed, '2026-01-02-000000', 's3://bucket'),
      (err: unknown) =>
        err instanceof UserError && err.message === 'there is no backup "2026-01-02-000000" at s3://bucket',
    );
  });

  it('lists the known backups in the fix for an unknown name', () => {
    assert.throws(
      () => chooseBackup(listed, 'yesterday', 's3://bucket'),
      (err: unknown) => err instanceof UserError && listed.every((b) => err.fix.includes(b.name)),
    );
  });

  it('--from latest with only a plain backup suggests --from plain', () => {
    assert.throws(
      () => chooseBackup([backup('plain')], 'latest', 's3://bucket'),
      (err: unknown) =>
        err instanceof UserError && /no timestamped backup/.test(err.message) && err.fix.includes('--from plain'),
    );
  });

  it('says there are none when the destination holds no backup', () => {
    assert.throws(
      () => chooseBackup([], 'plain', 's3://bucket'),
      (err: unknown) => err instanceof UserError && /one of: none\b/.test(err.fix),
    );
  });
});
