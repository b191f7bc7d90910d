// Restore, backups list and prune on the bed: a round trip keeps bytes,
// modes, mtimes, symlinks and empty folders.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBoundPvc, datamover, kubectl, useNamespace, volumeFolder } from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

describe('restore, backups list and prune', () => {
  const ns = useNamespace('restore');
  let source: string;
  beforeEach(async () => {
    rmSync(bucketPath(), { recursive: true, force: true });
    mkdirSync(bucketPath(), { recursive: true });
    source = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  it('round-trips the mixed tree into a new PVC: bytes, modes, mtimes, symlinks and empty folders', async () => {
    writeMixedTree(source, { bigFileBytes: 5 * 1024 * 1024 });
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const result = await dm(ns.name, ['restore', '--secret', 's3', '--from', 'latest', '--to-pvc', 'restored', '--create', '--size', '1Gi']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const restored = await volumeFolder(ns.name, 'restored');
    assert.deepEqual(snapshot(restored, { mtimes: true }), snapshot(source, { mtimes: true }));
    const annotation = String((await kubectl(['get', 'pvc', 'restored', '-n', ns.name, '-o', 'jsonpath={.metadata.annotations.datamover\\.a-cup-of\\.coffee/restore}'])).stdout);
    assert.equal(JSON.parse(annotation).state, 'complete');
    assert.equal(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
  });

  it('restores a chosen timestamp folder', async () => {
    writeFileSync(join(source, 'version.txt'), 'one\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const [first] = readdirSync(bucketPath());
    await sleep(1100);
    writeFileSync(join(source, 'version.txt'), 'two\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const result = await dm(ns.name, ['restore', '--secret', 's3', '--from', first!, '--to-pvc', 'old', '--create', '--size', '1Gi']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(join(await volumeFolder(ns.name, 'old'), 'version.txt'), 'utf8'), 'one\n');
  });

  it('refuses a non-empty PVC without --overwrite, and an unknown --from', async () => {
    writeFileSync(join(source, 'a.txt'), 'a\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3'])).exitCode, 0);
    const busy = await dm(ns.name, ['restore', '--secret', 's3', '--from', 'plain', '--to-pvc', 'data']);
    assert.equal(busy.exitCode, 1);
    assert.match(String(busy.stderr), /error: PVC "data" is not empty; .*--overwrite/);
    const unknown = await dm(ns.name, ['restore', '--secret', 's3', '--from', '2020-01-01-000000', '--to-pvc', 'data']);
    assert.equal(unknown.exitCode, 1);
    assert.match(String(unknown.stderr), /error: there is no backup "2020-01-01-000000" at .*plain/);
    assert.equal(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
  });

  it('lists backups and prunes exactly what the policy says', async () => {
    writeFileSync(join(source, 'a.txt'), 'a\n');
    for (let i = 0; i < 3; i++) {
      assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
      await sleep(1100);
    }
    const listed = JSON.parse(String((await dm(ns.name, ['backups', 'list', '--secret', 's3', '-o', 'json'])).stdout));
    const folders = listed.map((b: { name: string }) => b.name);
    assert.equal(folders.length, 3);
    assert.ok(listed.every((b: { files: number; manifest: boolean }) => b.files === 1 && b.manifest));
    const dry = await dm(ns.name, ['prune', '--secret', 's3', '--keep-last', '1', '--dry-run']);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    assert.equal(readdirSync(bucketPath()).length, 3);
    const pruned = await dm(ns.name, ['prune', '--secret', 's3', '--keep-last', '1']);
    assert.equal(pruned.exitCode, 0, String(pruned.stderr));
    assert.deepEqual(readdirSync(bucketPath()), [folders.sort().at(-1)]);
  });
});
