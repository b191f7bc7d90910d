// restore --transport port-forward on the bed: the helper pod runs rclone's WebDAV server of the target
// volume (writable; the bed's job-runner runs it in a network namespace of its own), and the user's rclone
// copies the large files from the real S3 server into it through a port-forward; the rest takes the exec
// tar stream. What arrives is checked against the manifest's MD5s before anything gets its name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chownSync, chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';
import {
  createBoundPvc,
  datamover,
  eventually,
  killContainer,
  managedLeftovers,
  managedPods,
  managedPodsLeft,
  portForwardsInto,
  useNamespace,
  userEnv,
} from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket } from './support/storage.ts';

const MiB = 1024 * 1024;
const RESTORE = ['restore', '--secret', 's3', '--from', 'plain', '--to-pvc', 'restored'];

describe('kubectl datamover restore --transport port-forward', () => {
  const ns = useNamespace('restorepf');
  let source: string;
  let target: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    target = await createBoundPvc(ns.name, 'restored');
    await createStorageSecret(ns.name);
  });

  it('writes the large files through the pod’s rclone server, the rest by exec: bytes, owners, modes', async () => {
    writeMixedTree(source, { bigFileBytes: 20 * MiB });
    // Large files in folders the restore must make, with their own owner, mode and mtime, and a hard link.
    mkdirSync(join(source, 'deep', 'er'), { recursive: true });
    const owned = join(source, 'deep', 'er', 'owned large.bin');
    writeFileSync(owned, randomBytes(17 * MiB));
    chownSync(owned, 1000, 2000);
    chmodSync(owned, 0o640);
    utimesSync(owned, 1_600_000_000, 1_600_000_000);
    writeFileSync(join(source, 'linked.bin'), randomBytes(17 * MiB));
    linkSync(join(source, 'linked.bin'), join(source, 'linked again.bin'));
    const backup = await datamover(['backup', 'data', '--secret', 's3', '-n', ns.name]);
    assert.equal(backup.exitCode, 0, String(backup.stderr));

    const restored = await datamover([...RESTORE, '--transport', 'port-forward', '-o', 'json', '-n', ns.name]);
    assert.equal(restored.exitCode, 0, String(restored.stderr));
    // big.bin, owned large.bin and linked.bin (the first name of the hard link: the one with an object).
    assert.equal(JSON.parse(String(restored.stdout)).filesFromServer, 3, String(restored.stderr));
    const withMtimes = { mtimes: true, folderMtimes: true };
    assert.deepEqual(snapshot(target, withMtimes), snapshot(source, withMtimes));
    const stat = lstatSync(join(target, 'deep', 'er', 'owned large.bin'));
    assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o7777], [1000, 2000, 0o640]);
    assert.equal(lstatSync(join(target, 'linked again.bin')).ino, lstatSync(join(target, 'linked.bin')).ino);
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('a file that arrives with another MD5 than the backup recorded fails the run, never under its name', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(17 * MiB));
    writeFileSync(join(source, 'small.txt'), 'small\n');
    const backup = await datamover(['backup', 'data', '--secret', 's3', '-n', ns.name]);
    assert.equal(backup.exitCode, 0, String(backup.stderr));
    // The object changes behind the manifest's back (same size): what arrives is not what was backed up.
    writeFileSync(join(bucketPath(), 'large.bin'), randomBytes(17 * MiB));

    const restored = await datamover([...RESTORE, '--transport', 'port-forward', '-n', ns.name]);
    assert.equal(restored.exitCode, 1, String(restored.stderr));
    assert.match(
      String(restored.stderr).trim().split('\n').at(-1)!,
      /^error: "large\.bin" arrived with a different checksum than the backup recorded/,
    );
    // Neither the file under its name nor the folder it arrived in is left in the PVC.
    assert.deepEqual(readdirSync(target), []);
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('Ctrl-C while files arrive removes the folder they arrive in, and the helper pod', async () => {
    const { run } = await restoreWhileFilesArrive(ns.name, source, target);
    run.kill('SIGINT');
    const result = await run;
    assert.equal(result.exitCode, 1, String(result.stderr));
    assert.match(String(result.stderr), /^error: interrupted by SIGINT; /m);
    assert.deepEqual(readdirSync(target), []);
    assert.deepEqual(await managedPodsLeft(ns.name), []);
    assert.deepEqual(portForwardsInto(ns.name), [], 'the port-forward ended before the plugin did');
  });

  it('after a run killed while files arrive, the next restore removes the folder left, says so, restores', async () => {
    writeFileSync(join(source, 'small.txt'), 'small\n');
    const { run } = await restoreWhileFilesArrive(ns.name, source, target);
    await sleep(1000); // some bytes into it
    run.kill('SIGKILL'); // no time for any cleanup
    await run;
    // Its kubectl port-forward ends with it (the plugin's end of a pipe closed), not later or never.
    await eventually(async () => assert.deepEqual(portForwardsInto(ns.name), []), 3000);
    const [left] = incomingFolders(target);
    assert.ok(left, 'the killed run left its incoming folder');
    // Its pod, stopped, would remove the folder (its server's last write done): here its container dies at once
    // too (as by the OOM killer or with its node), and the folder stays. The pod is the user's to delete.
    const [pod] = await managedPods(ns.name);
    await killContainer(ns.name, pod!);
    await execa('kubectl', ['delete', 'pod', '-n', ns.name, '-l', 'app.kubernetes.io/managed-by=kubectl-datamover'], {
      env: userEnv(),
    });
    assert.deepEqual(incomingFolders(target), [left], 'a pod whose container was killed removed nothing');

    // The PVC holds nothing but that folder: it counts as empty (no --overwrite needed), in a dry run too.
    const dry = await datamover([...RESTORE, '--dry-run', '-o', 'json', '-n', ns.name]);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    assert.match(
      String(dry.stderr),
      new RegExp(`^warning: the restore would remove ${left} from the PVC: what a restore that was killed left$`, 'm'),
    );
    const plan = JSON.parse(String(dry.stdout));
    assert.equal(plan.refused, undefined, String(dry.stdout));
    assert.equal(plan.counts.create, 2, String(dry.stdout));
    assert.deepEqual(incomingFolders(target), [left], 'a dry run removes nothing');
    const again = await datamover([...RESTORE, '-n', ns.name]);
    assert.equal(again.exitCode, 0, String(again.stderr));
    assert.match(
      String(again.stderr),
      new RegExp(`^warning: removed ${left} from the PVC: what a restore that was killed left$`, 'm'),
    );
    assert.deepEqual(snapshot(target), snapshot(source));
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('a container killed mid-copy ends the run naming its pod; the folder left is said, then removed', async () => {
    const { run } = await restoreWhileFilesArrive(ns.name, source, target);
    const [pod] = await managedPods(ns.name);
    await killContainer(ns.name, pod!); // all of it, as the OOM killer would: its shell cannot remove the folder
    const result = await run;
    assert.equal(result.exitCode, 1, String(result.stderr));
    assert.match(
      String(result.stderr).trim().split('\n').at(-1)!,
      new RegExp(`^error: the helper pod ${pod} stopped \\(Failed\\) while the run used its rclone server; `),
    );
    const [left] = incomingFolders(target);
    assert.ok(left, 'the folder is there');
    assert.match(String(result.stderr), new RegExp(`^warning: ${left} may be left in the PVC .*removes it$`, 'm'));
    assert.deepEqual(await managedPodsLeft(ns.name), [], 'the run deleted its stopped pod');
    const again = await datamover([...RESTORE, '-n', ns.name]);
    assert.match(String(again.stderr), new RegExp(`^warning: removed ${left} from the PVC`, 'm'));
    assert.equal(again.exitCode, 0, String(again.stderr));
    assert.deepEqual(snapshot(target), snapshot(source));
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('leaves the folder of a restore that goes on alone: that run completes', async () => {
    const { run } = await restoreWhileFilesArrive(ns.name, source, target);
    try {
      const other = await datamover([...RESTORE, '--overwrite', '-n', ns.name]);
      assert.doesNotMatch(String(other.stderr), /removed/);
      assert.equal(other.exitCode, 0, String(other.stderr));
      const first = await run;
      assert.equal(first.exitCode, 0, String(first.stderr));
    } finally {
      run.kill('SIGINT'); // a run whose folder went away under it can wait long: not past the test
      await run;
    }
    assert.deepEqual(snapshot(target), snapshot(source));
    assert.equal(await managedLeftovers(ns.name), '');
  });
});

const incomingFolders = (target: string) =>
  readdirSync(target).filter((name) => name.startsWith('.datamover-incoming-'));

/** A backup with a file of 32 MiB, then its restore by port-forward at 4 MiB/s, once files arrive in `target`. */
async function restoreWhileFilesArrive(namespace: string, source: string, target: string) {
  writeFileSync(join(source, 'large.bin'), randomBytes(32 * MiB));
  const backup = await datamover(['backup', 'data', '--secret', 's3', '-n', namespace]);
  assert.equal(backup.exitCode, 0, String(backup.stderr));
  // 4 MiB/s: the copy into the pod takes about 8 s, long enough to be interrupted in the middle.
  const run = execa(
    join(REPO_ROOT, 'bin', 'kubectl-datamover'),
    [...RESTORE, '--transport', 'port-forward', '--env', 'RCLONE_BWLIMIT=4M', '-n', namespace],
    { env: userEnv(), extendEnv: false, reject: false },
  );
  for (let i = 0; incomingFolders(target).length === 0; i++) {
    assert.ok(i < 600, 'no incoming folder appeared within 60 s');
    await sleep(100);
  }
  return { run }; // not the subprocess itself: an async function would wait for it to end
}
