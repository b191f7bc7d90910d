// backup --dry-run: the plan equals what the real run then does (every count and the bytes),
// and the dry run itself writes nothing: not a byte at the destination, no clone, no PVC
// annotation, no pod left.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBoundPvc, datamover, kubectl, managedLeftovers, useNamespace } from './support/bed.ts';
import { writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from './support/storage.ts';

describe('backup --dry-run', () => {
  const ns = useNamespace('dryrun');
  let source: string;
  const dm = (args: string[]) => datamover([...args, '-n', ns.name]);
  const annotation = async () =>
    String((await kubectl(['get', 'pvc', 'data', '-n', ns.name, '-o', 'jsonpath={.metadata.annotations}'])).stdout);
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    writeMixedTree(source, { bigFileBytes: 2 * 1024 * 1024 });
    await createStorageSecret(ns.name);
  });

  /** Changes since the first backup: one file changed, one added, one removed. */
  function change(): void {
    writeFileSync(join(source, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    writeFileSync(join(source, 'added.txt'), 'new since the first backup\n');
    rmSync(join(source, 'private.key'));
  }

  for (const folders of [false, true]) {
    const where = folders ? 'into timestamp folders' : 'into the bucket root';
    it(`${where}: plans what the real run does, writing nothing`, async () => {
      const prefix = folders ? ['--timestamp-prefix'] : [];
      const first = await dm(['backup', 'data', '--secret', 's3', ...prefix, '-o', 'json']);
      assert.equal(first.exitCode, 0, String(first.stderr));
      change();
      const before = { objects: objectsIn(bucketPath()), annotation: await annotation() };

      const dry = await dm(['backup', 'data', '--secret', 's3', ...prefix, '--dry-run', '-o', 'json']);
      assert.equal(dry.exitCode, 0, String(dry.stderr));
      const plan = JSON.parse(String(dry.stdout));
      assert.deepEqual(objectsIn(bucketPath()), before.objects, 'the dry run wrote to the destination');
      assert.equal(await annotation(), before.annotation, "the dry run changed the PVC's annotation");
      assert.equal(await managedLeftovers(ns.name), '');
      assert.equal(plan.dryRun, true);
      assert.ok(plan.estimatedSeconds >= 0, `no estimate from the first run: ${dry.stdout}`);

      const real = await dm(['backup', 'data', '--secret', 's3', ...prefix, '-o', 'json']);
      assert.equal(real.exitCode, 0, String(real.stderr));
      const done = JSON.parse(String(real.stdout));
      assert.deepEqual(
        {
          sent: plan.send.files,
          bytes: plan.send.bytes,
          seeded: plan.copyServerSide.files,
          unchanged: plan.unchanged.files,
          deleted: plan.delete.files,
        },
        {
          sent: done.filesSent,
          bytes: done.bytesSent,
          seeded: done.filesSeeded,
          unchanged: done.filesUnchanged,
          deleted: done.filesDeleted,
        },
      );
      // What changed is what is planned: in a new folder, the rest is copied server-side.
      assert.equal(plan.send.files, 2);
      assert.equal(plan.send.bytes, 3 * 1024 * 1024 + 'new since the first backup\n'.length);
      assert.equal(folders ? plan.copyServerSide.files : plan.unchanged.files, 4);
      assert.equal(plan.delete.files, folders ? 0 : 1);
    });
  }

  it('says it in words, names how long it would take, and refuses --from-snapshot', async () => {
    const text = await dm(['backup', 'data', '--secret', 's3', '--dry-run']);
    assert.equal(text.exitCode, 0, String(text.stderr));
    assert.match(String(text.stdout), /^Dry run: nothing was written\. A backup of PVC \S+\/data to /);
    assert.match(String(text.stdout), /^ {2}send: +6 files, 2\.0 MiB$/m);
    assert.match(String(text.stdout), /^ {2}take: +unknown \(no earlier run recorded its times on the PVC\)$/m);
    assert.deepEqual(objectsIn(bucketPath()), {});

    const refused = await dm(['backup', 'data', '--secret', 's3', '--dry-run', '--from-snapshot', 'snap']);
    assert.equal(refused.exitCode, 2);
    assert.match(String(refused.stderr), /^error: --dry-run plans against the live PVC, not --from-snapshot; /m);
  });
});
