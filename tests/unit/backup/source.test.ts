import assert from 'node:assert/strict';
import { exitCodeOf, UsageError } from '../../../lib/errors.ts';
import { describePermission } from '../../../lib/kube/access.ts';
import { sourceChoice } from '../../../lib/backup/command.ts';
import { permissionsFor } from '../../../lib/backup/local-backup.ts';
import { refuseLocalOnlyFlags } from '../../../lib/operator/local-flags.ts';

const flags = (more: Partial<Parameters<typeof sourceChoice>[0]> = {}) => ({ clone: true, ...more });

function usageError(pattern: RegExp) {
  return (err: unknown) => err instanceof UsageError && exitCodeOf(err) === 2 && pattern.test(err.message);
}

describe('backup --source', () => {
  it('reads a clone by default', () => {
    assert.deepEqual(sourceChoice(flags()), { kind: 'clone' });
  });

  it('takes --no-clone as --source live', () => {
    assert.deepEqual(sourceChoice(flags({ clone: false })), { kind: 'live' });
    assert.deepEqual(sourceChoice(flags({ clone: true, source: 'live' })), { kind: 'live' });
    assert.deepEqual(sourceChoice(flags({ clone: false, source: 'live' })), { kind: 'live' });
  });

  it('refuses --no-clone with another --source', () => {
    assert.throws(() => sourceChoice(flags({ clone: false, source: 'snapshot' })), usageError(/contradicts/));
  });

  it('takes --source snapshot with or without --snapshot-class', () => {
    assert.deepEqual(sourceChoice(flags({ clone: true, source: 'snapshot' })), { kind: 'snapshot' });
    assert.deepEqual(sourceChoice(flags({ clone: true, source: 'snapshot', 'snapshot-class': 'fast' })), {
      kind: 'snapshot',
      className: 'fast',
    });
  });

  it('refuses --snapshot-class without --source snapshot', () => {
    assert.throws(
      () => sourceChoice(flags({ clone: true, 'snapshot-class': 'fast' })),
      usageError(/--source snapshot/),
    );
  });

  it('takes --from-snapshot as an existing snapshot, alone or with --source snapshot', () => {
    const existing = { kind: 'existing-snapshot', name: 'nightly' };
    assert.deepEqual(sourceChoice(flags({ clone: true, 'from-snapshot': 'nightly' })), existing);
    assert.deepEqual(sourceChoice(flags({ clone: true, source: 'snapshot', 'from-snapshot': 'nightly' })), existing);
  });

  it('refuses --from-snapshot with --source clone, --no-clone or --snapshot-class', () => {
    assert.throws(
      () => sourceChoice(flags({ clone: true, source: 'clone', 'from-snapshot': 'n' })),
      usageError(/clone/),
    );
    assert.throws(() => sourceChoice(flags({ clone: false, 'from-snapshot': 'n' })), usageError(/live/));
    assert.throws(
      () => sourceChoice(flags({ clone: true, 'from-snapshot': 'n', 'snapshot-class': 'c' })),
      usageError(/--snapshot-class/),
    );
  });

  it('refuses an invalid snapshot name before any call', () => {
    assert.throws(() => sourceChoice(flags({ clone: true, 'from-snapshot': 'Bad_Name' })), usageError(/not a valid/));
  });

  it('is refused in operator mode unless it is clone', () => {
    assert.doesNotThrow(() => refuseLocalOnlyFlags({ source: 'clone' }));
    for (const flag of [{ source: 'snapshot' }, { 'snapshot-class': 'c' }, { 'from-snapshot': 's' }])
      assert.throws(() => refuseLocalOnlyFlags(flag), usageError(/local-mode flag the operator cannot honour/));
  });
});

describe('backup preflight permissions by source', () => {
  const of = (source: Parameters<typeof permissionsFor>[0]['source']) =>
    permissionsFor({ source, destination: {} as never }).map(describePermission);

  it('asks for no snapshot permission for a clone', () => {
    assert.ok(!of({ kind: 'clone' }).some((p) => p.includes('snapshot')));
  });

  it('asks to create, get and delete VolumeSnapshots and list their classes for --source snapshot', () => {
    const asked = of({ kind: 'snapshot' });
    for (const p of ['create', 'get', 'delete'])
      assert.ok(asked.includes(`${p} volumesnapshots.snapshot.storage.k8s.io`), p);
    assert.ok(asked.includes('list volumesnapshotclasses.snapshot.storage.k8s.io'));
    assert.ok(!asked.includes('get volumesnapshotclasses.snapshot.storage.k8s.io'));
  });

  it('gets the named class instead of listing them with --snapshot-class', () => {
    const asked = of({ kind: 'snapshot', className: 'c' });
    assert.ok(asked.includes('get volumesnapshotclasses.snapshot.storage.k8s.io'));
    assert.ok(!asked.includes('list volumesnapshotclasses.snapshot.storage.k8s.io'));
  });

  it('only reads an existing snapshot: it never creates or deletes one', () => {
    const asked = of({ kind: 'existing-snapshot', name: 's' }).filter((p) => p.includes('snapshot'));
    assert.deepEqual(asked, ['get volumesnapshots.snapshot.storage.k8s.io']);
  });
});
