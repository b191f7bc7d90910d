// Restore, backups list and prune on the bed: a round trip keeps bytes,
// modes, mtimes, symlinks and empty folders.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bed,
  createBoundPvc,
  datamover,
  kubectl,
  useNamespace,
  volumeFolder,
  waitFor,
  watchRun,
} from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket, pastTimestamp, timestampFolder } from './support/storage.ts';

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
    const withMtimes = { mtimes: true, folderMtimes: true };
    assert.deepEqual(snapshot(restored, withMtimes), snapshot(source, withMtimes));
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

    // With an rclone that has `archive create` (the pinned one), nothing is staged: no local folder is made.
    const args = ['restore', '--secret', 's3', '--to-pvc', 'streamed', '--create', '--size', '1Gi', '-n', ns.name];
    const streamed = await datamover([...args, '--rclone', bed().rcloneNew]);
    assert.equal(streamed.exitCode, 0, String(streamed.stderr));
    assert.deepEqual(snapshot(await volumeFolder(ns.name, 'streamed'), withMtimes), snapshot(source, withMtimes));
    assert.match(String(streamed.stderr), /Clean up: done/);
    assert.doesNotMatch(String(streamed.stderr), /local staging folder/);
    // Debian's rclone 1.60 has none: its restore downloads into a staging folder.
    const staged = await datamover([...args, '--overwrite']);
    assert.equal(staged.exitCode, 0, String(staged.stderr));
    assert.match(String(staged.stderr), /remove the local staging folder/);
  });

  it('streams a file larger than a batch into the pod as it downloads; refuses bytes not the backup ones', async () => {
    writeMixedTree(source, { bigFileBytes: 5 * 1024 * 1024 });
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const restore = (to: string, args: string[]) =>
      dm(ns.name, ['restore', '--secret', 's3', '--to-pvc', to, '--create', '--size', '1Gi', ...args]);
    const streamed = await restore('streamed', ['--batch-size', '1Mi']);
    assert.equal(streamed.exitCode, 0, String(streamed.stderr));
    const withMtimes = { mtimes: true, folderMtimes: true };
    assert.deepEqual(snapshot(await volumeFolder(ns.name, 'streamed'), withMtimes), snapshot(source, withMtimes));

    const refusedIn = async (to: string, name: string, args: string[]) => {
      await sleep(400); // the S3 server's directory cache (200 ms)
      const result = await restore(to, args);
      assert.equal(result.exitCode, 1, String(result.stderr));
      const escaped = name.replace('.', '\\.');
      assert.match(String(result.stderr), new RegExp(`error: "${escaped}" arrived with a different checksum than`));
      assert.ok(!existsSync(join(await volumeFolder(ns.name, to), name)), `${name} got its name in ${to}`);
    };
    const [folder] = readdirSync(bucketPath());
    const { readFileSync } = await import('node:fs');
    const big = bucketPath(folder!, 'big.bin');
    const bytes = readFileSync(big);
    const flip = () => {
      bytes[4 * 1024 * 1024] = bytes[4 * 1024 * 1024]! ^ 0xff; // same size, one byte different
      writeFileSync(big, bytes);
    };
    flip();
    await refusedIn('streamed-bad', 'big.bin', ['--batch-size', '1Mi']);
    // Staged (a batch of 64 MiB, Debian's rclone 1.60 on PATH): a large file's bytes checked as they are
    // read, and a small file's.
    await refusedIn('staged-bad', 'big.bin', []);
    flip();
    writeFileSync(bucketPath(folder!, 'private.key'), 'not really a kez\n'); // same size
    await refusedIn('small-bad', 'private.key', []);
    // Streamed from rclone archive create: a small file's bytes checked as they are repacked.
    await refusedIn('small-bad-streamed', 'private.key', ['--rclone', bed().rcloneNew]);
  });

  it('restores a chosen timestamp folder', async () => {
    writeFileSync(join(source, 'version.txt'), 'one\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    const [first] = readdirSync(bucketPath());
    await pastTimestamp(first!);
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

  it('lists backups and prunes exactly what the policy says (--dry-run, --keep-within, --keep-last)', async () => {
    writeFileSync(join(source, 'a.txt'), 'a\n');
    assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix'])).exitCode, 0);
    // Two older copies of it: an hour old and 40 days old.
    const [newest] = readdirSync(bucketPath());
    const hourOld = timestampFolder(Date.now() - 3600_000);
    const monthsOld = timestampFolder(Date.now() - 40 * 86400_000);
    for (const folder of [hourOld, monthsOld]) cpSync(bucketPath(newest!), bucketPath(folder), { recursive: true });
    const list = async () => {
      const listed = await dm(ns.name, ['backups', 'list', '--secret', 's3', '-o', 'json']);
      assert.equal(listed.exitCode, 0, String(listed.stderr));
      return JSON.parse(String(listed.stdout)) as Array<{ name: string; files: number; manifest: boolean }>;
    };
    // The S3 server lists the copies once its directory cache has expired.
    const listed = await waitFor('the copies listed', async () => {
      const backups = await list();
      return backups.length === 3 ? backups : undefined;
    });
    assert.deepEqual(listed.map((b) => b.name).sort(), [monthsOld, hourOld, newest].sort());
    assert.ok(listed.every((b) => b.files === 1 && b.manifest));
    const size = /\(1 files, [^)]+\)/.source;

    const dry = await dm(ns.name, ['prune', '--secret', 's3', '--keep-last', '1', '--dry-run']);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    assert.match(
      String(dry.stdout),
      new RegExp(`^would delete ${hourOld} ${size}\\nwould delete ${monthsOld} ${size}\\nkept 1 backup: ${newest}$`),
    );
    assert.equal(readdirSync(bucketPath()).length, 3);

    const within = await dm(ns.name, ['prune', '--secret', 's3', '--keep-within', '30d']);
    assert.equal(within.exitCode, 0, String(within.stderr));
    assert.match(
      String(within.stdout),
      new RegExp(`^deleted ${monthsOld} ${size}\\nkept 2 backups: ${newest}, ${hourOld}$`),
    );
    assert.deepEqual(readdirSync(bucketPath()).sort(), [hourOld, newest!].sort());

    const pruned = await dm(ns.name, ['prune', '--secret', 's3', '--keep-last', '1']);
    assert.equal(pruned.exitCode, 0, String(pruned.stderr));
    assert.match(String(pruned.stdout), new RegExp(`^deleted ${hourOld} ${size}\\nkept 1 backup: ${newest}$`));
    assert.deepEqual(readdirSync(bucketPath()), [newest]);
  });

  it('verify passes on a good backup and names each object corrupted, cut, deleted or added', async () => {
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
    writeFileSync(bucketPath(folder!, 'nested', 'deeper', 'deepest', 'note.txt'), 'deep and longer\n');
    writeFileSync(bucketPath(folder!, 'stray.txt'), 'not in the manifest\n');
    // The S3 server's directory cache (200 ms) has expired by then, whatever the load.
    await sleep(400);
    const bad = await dm(ns.name, ['verify', '--secret', 's3']);
    assert.equal(bad.exitCode, 1);
    const lines = String(bad.stdout).trim().split('\n');
    assert.equal(lines.length, 4, String(bad.stdout));
    assert.ok(lines.some((l) => /^CHECKSUM big\.bin {2}\(manifest [0-9a-f]{32}, destination [0-9a-f]{32}\)$/.test(l)));
    assert.ok(lines.includes('MISSING  private.key'), String(bad.stdout));
    assert.ok(
      lines.includes('SIZE     nested/deeper/deepest/note.txt  (manifest 5 bytes, destination 16)'),
      String(bad.stdout),
    );
    assert.ok(lines.includes('EXTRA    stray.txt'), String(bad.stdout));
    assert.match(String(bad.stderr), /error: 4 differences found/);
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
      // The password from DATAMOVER_CRYPT_PASSWORD: list, verify and prune see the backup through the crypt remote.
      const crypt = (args: string[]) =>
        datamover([...args, '--secret', 's3', '--encrypt', '-n', ns.name], {
          env: { DATAMOVER_CRYPT_PASSWORD: 'correct horse battery staple' },
        });
      const listed = await crypt(['backups', 'list', '-o', 'json']);
      assert.equal(listed.exitCode, 0, String(listed.stderr));
      const [only, ...others] = JSON.parse(String(listed.stdout));
      assert.deepEqual(others, []);
      assert.match(only.name, /^\d{4}-\d{2}-\d{2}-\d{6}$/);
      assert.equal(only.manifest, true);
      assert.equal(only.files, Object.values(snapshot(source)).filter((e) => e.type !== 'dir').length);
      const verified = await crypt(['verify']);
      assert.equal(verified.exitCode, 0, `${verified.stdout}\n${verified.stderr}`);
      assert.match(
        String(verified.stdout),
        new RegExp(`^OK: backup ${only.name}, ${only.files} objects match the manifest$`, 'm'),
      );
      const kept = await crypt(['prune', '--keep-last', '1']);
      assert.equal(kept.exitCode, 0, String(kept.stderr));
      assert.equal(String(kept.stdout), `kept 1 backup: ${only.name}`);
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
      const withMtimes = { mtimes: true, folderMtimes: true };
      assert.deepEqual(snapshot(await volumeFolder(ns.name, 'restored'), withMtimes), snapshot(source, withMtimes));

      // A crypt remote has no MD5s: verify compares sizes. The largest object is big.bin, encrypted: grow it.
      const [biggest] = stored.sort(([, a], [, b]) => b.size! - a.size!);
      appendFileSync(bucketPath(biggest![0]), randomBytes(100));
      const grown = await waitFor('verify to see the grown object', async () => {
        const result = await crypt(['verify']);
        return result.exitCode === 0 ? undefined : result;
      });
      assert.equal(grown.exitCode, 1, String(grown.stderr));
      assert.match(String(grown.stdout), /^SIZE {5}big\.bin {2}\(manifest 65536 bytes, destination \d+\)$/m);
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
    const running = watchRun(run);
    // Interrupted mid-stream: once a first batch is in the target PVC.
    const arrived = await waitFor('a first batch in the target PVC', async () => {
      running.assertRunning('it could be interrupted');
      const bound = await kubectl(['get', 'pvc', 'target', '-n', ns.name, '-o', 'jsonpath={.spec.volumeName}'], {
        reject: false,
      });
      if (!String(bound.stdout)) return undefined;
      const many = join(await volumeFolder(ns.name, 'target'), 'many');
      return existsSync(many) && readdirSync(many).some((f) => f.endsWith('.bin')) ? many : undefined;
    });
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
    assert.ok(readdirSync(arrived).filter((f) => f.endsWith('.bin')).length < 30, 'the restore went on to the end');
  });
});
