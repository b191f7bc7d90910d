// Restore, backups list and prune on the bed: a round trip keeps bytes,
// modes, mtimes, symlinks and empty folders.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBoundPvc, datamover, kubectl, useNamespace, volumeFolder } from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

describe('restore, backups list and prune', () => {
  const ns = useNamespace('restore');
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  it('round-trips the mixed tree into a new PVC: bytes, modes, mtimes, symlinks and empty folders', async () => {
    writeMixedTree(source, { bigFileBytes: 5 * 1024 * 1024 });
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const result = await dm(ns.name, [
      'restore',
      '--secret',
      's3',
      '--from',
      'latest',
      '--to-pvc',
      'restored',
      '--create',
      '--size',
      '1Gi',
    ]);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const restored = await volumeFolder(ns.name, 'restored');
    assert.deepEqual(snapshot(restored, { mtimes: true }), snapshot(source, { mtimes: true }));
    const annotation = String(
      (
        await kubectl([
          'get',
          'pvc',
          'restored',
          '-n',
          ns.name,
          '-o',
          'jsonpath={.metadata.annotations.datamover\\.a-cup-of\\.coffee/restore}',
        ])
      ).stdout,
    );
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
    const result = await dm(ns.name, [
      'restore',
      '--secret',
      's3',
      '--from',
      first!,
      '--to-pvc',
      'old',
      '--create',
      '--size',
      '1Gi',
    ]);
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

  it('verify passes on a good backup and names the file after an object is corrupted or deleted', async () => {
    writeMixedTree(source, { bigFileBytes: 64 * 1024 });
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const good = await dm(ns.name, ['verify', '--secret', 's3', '--against-pvc', 'data']);
    assert.equal(good.exitCode, 0, String(good.stderr));
    assert.match(String(good.stdout), /^OK: backup \S+ matches its manifest and PVC "data"/m);

    const [folder] = readdirSync(bucketPath());
    const { readFileSync } = await import('node:fs');
    const corrupted = bucketPath(folder!, 'big.bin');
    const bytes = readFileSync(corrupted);
    bytes[100] = bytes[100]! ^ 0xff; // same size, different content
    writeFileSync(corrupted, bytes);
    rmSync(bucketPath(folder!, 'private.key'));
    await sleep(400); // the S3 server's directory cache
    const bad = await dm(ns.name, ['verify', '--secret', 's3']);
    assert.equal(bad.exitCode, 1);
    assert.match(String(bad.stdout), /^CHECKSUM big\.bin/m);
    assert.match(String(bad.stdout), /^MISSING {2}private\.key/m);
    assert.match(String(bad.stderr), /error: 2 differences found/);
  });

  it('verify --against-pvc names a file that changed in the PVC since the backup', async () => {
    writeFileSync(join(source, 'a.txt'), 'a\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    writeFileSync(join(source, 'a.txt'), 'b\n');
    const result = await dm(ns.name, ['verify', '--secret', 's3', '--against-pvc', 'data']);
    assert.equal(result.exitCode, 1);
    assert.match(String(result.stdout), /^CHECKSUM a\.txt/m);
    assert.equal(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
  });

  // The name is split so that Biome puts it on a line of its own (one string would stay over 120 characters).
  it(
    'encrypts with --encrypt: the bucket holds no plaintext name or content, ' + 'and the round trip is exact',
    async () => {
      writeMixedTree(source, { bigFileBytes: 64 * 1024 });
      await kubectl([
        'create',
        'secret',
        'generic',
        'crypt',
        '-n',
        ns.name,
        '--from-literal=password=correct horse battery staple',
      ]);
      const backup = await dm(ns.name, [
        'backup',
        'data',
        '--secret',
        's3',
        '--timestamp-prefix',
        '--encrypt',
        '--password-secret',
        'crypt',
      ]);
      assert.equal(backup.exitCode, 0, String(backup.stderr));
      const { readFileSync } = await import('node:fs');
      const stored = Object.entries(snapshot(bucketPath())).filter(([, e]) => e.type === 'file');
      assert.ok(stored.length >= 6);
      for (const [path] of stored) {
        assert.doesNotMatch(
          path,
          /nested|private|big\.bin|note|manifest|\d{4}-\d{2}-\d{2}/,
          `plaintext name in the bucket: ${path}`,
        );
        const content = readFileSync(bucketPath(path));
        assert.ok(
          !content.includes('ü and spaces') && !content.includes('not really a key'),
          `plaintext content in ${path}`,
        );
      }
      const plain = await dm(ns.name, ['restore', '--secret', 's3', '--to-pvc', 'nokey', '--create', '--size', '1Gi']);
      assert.equal(plain.exitCode, 1);
      assert.match(String(plain.stderr), /^error: there is no timestamped backup at .*--encrypt/m);
      const restore = await dm(ns.name, [
        'restore',
        '--secret',
        's3',
        '--encrypt',
        '--password-secret',
        'crypt',
        '--to-pvc',
        'restored',
        '--create',
        '--size',
        '1Gi',
      ]);
      assert.equal(restore.exitCode, 0, String(restore.stderr));
      assert.deepEqual(
        snapshot(await volumeFolder(ns.name, 'restored'), { mtimes: true }),
        snapshot(source, { mtimes: true }),
      );
    },
  );

  it('--overwrite --delete makes a non-empty PVC an exact copy; --overwrite alone keeps other files', async () => {
    writeFileSync(join(source, 'kept.txt'), 'backed up\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    writeFileSync(join(source, 'kept.txt'), 'changed after the backup\n');
    writeFileSync(join(source, 'extra.txt'), 'not in the backup\n');
    assert.equal((await dm(ns.name, ['restore', '--secret', 's3', '--to-pvc', 'data', '--overwrite'])).exitCode, 0);
    const { readFileSync, existsSync } = await import('node:fs');
    assert.equal(readFileSync(join(source, 'kept.txt'), 'utf8'), 'backed up\n');
    assert.ok(existsSync(join(source, 'extra.txt')));
    const exact = await dm(ns.name, ['restore', '--secret', 's3', '--to-pvc', 'data', '--overwrite', '--delete']);
    assert.equal(exact.exitCode, 0, String(exact.stderr));
    assert.ok(!existsSync(join(source, 'extra.txt')));
  });

  it('a restore interrupted mid-stream leaves no helper pod and marks the PVC incomplete', async () => {
    mkdirSync(join(source, 'many'));
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 30; i++) writeFileSync(join(source, 'many', `part-${i}.bin`), randomBytes(1024 * 1024));
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const { execa } = await import('execa');
    const { REPO_ROOT } = await import('../testbed/paths.ts');
    const { userEnv } = await import('./support/bed.ts');
    const run = execa(
      join(REPO_ROOT, 'bin', 'kubectl-datamover'),
      [
        'restore',
        '--secret',
        's3',
        '--to-pvc',
        'target',
        '--create',
        '--size',
        '1Gi',
        '--batch-size',
        '1Mi',
        '--env',
        'RCLONE_BWLIMIT=2M',
        '-n',
        ns.name,
      ],
      { env: userEnv(), extendEnv: false, reject: false },
    );
    for (let i = 0; i < 300; i++) {
      const annotation = String(
        (
          await kubectl(
            [
              'get',
              'pvc',
              'target',
              '-n',
              ns.name,
              '-o',
              'jsonpath={.metadata.annotations.datamover\\.a-cup-of\\.coffee/restore}',
            ],
            { reject: false },
          )
        ).stdout,
      );
      if (annotation.includes('in-progress')) break;
      await sleep(100);
    }
    await sleep(1500);
    run.kill('SIGTERM');
    const result = await run;
    assert.equal(result.exitCode, 1);
    assert.match(String(result.stderr), /error: interrupted by SIGTERM/);
    const annotation = String(
      (
        await kubectl([
          'get',
          'pvc',
          'target',
          '-n',
          ns.name,
          '-o',
          'jsonpath={.metadata.annotations.datamover\\.a-cup-of\\.coffee/restore}',
        ])
      ).stdout,
    );
    assert.equal(JSON.parse(annotation).state, 'incomplete');
    assert.equal(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
  });
});
