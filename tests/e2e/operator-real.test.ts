// Operator mode against the real DataMover operator (built from its source) on the bed:
// its Job pods run the operator's own entrypoint with the pinned rclone (the bed's
// job-runner is their kubelet), so data really moves to the bed's S3 server.
// Skipped, with one line saying why, when the operator is not running on the bed.
import assert from 'node:assert/strict';
import { readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';
import { datamover, eventually, kubectl, userEnv, volumeFolder } from './support/bed.ts';
import { snapshot } from './support/tree.ts';
import { useRealOperatorVolume } from './support/operator.ts';
import { bucketPath, createStorageSecret, expectedObjects, objectsIn } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
const bin = join(REPO_ROOT, 'bin', 'kubectl-datamover');

describe('operator mode against the real operator', function () {
  this.timeout(180_000);
  const { ns, volume } = useRealOperatorVolume();

  it('create --wait reaches Completed and the PVC is in the bucket, object by object', async () => {
    const result = await dm(ns.name, [
      'create',
      'once',
      '--pvc',
      'data',
      '--secret',
      's3',
      '--wait',
      '--timeout',
      '150s',
    ]);
    assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(String(result.stderr), /Completed/);
    const phase = await kubectl(['get', 'datamover', 'once', '-n', ns.name, '-o', 'jsonpath={.status.phase}']);
    assert.equal(String(phase.stdout), 'Completed');
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(volume.folder));
  });

  it("a wrong AWS_SECRET_ACCESS_KEY makes it Failed, with the pod's own rclone error", async () => {
    await createStorageSecret(ns.name, 'wrong', { TLS_HOST: 'false', AWS_SECRET_ACCESS_KEY: 'not-the-key' });
    const result = await dm(ns.name, [
      'create',
      'once',
      '--pvc',
      'data',
      '--secret',
      'wrong',
      '--timestamp-prefix',
      '--wait',
      '--timeout',
      '150s',
    ]);
    assert.equal(result.exitCode, 1, `${result.stdout}\n${result.stderr}`);
    assert.match(String(result.stderr), /error: DataMover "once" failed/);
    assert.match(String(result.stderr), /SignatureDoesNotMatch/);
    assert.match(String(result.stderr), /Rclone connection test failed/);
    // --wait followed the Job through its retries (the operator marks the DataMover Failed at the first).
    assert.match(String(result.stderr), /is Failed \(the operator marks it at the first failed Job pod/);
    assert.match(String(result.stderr), /\(job verify-data-cloned-\d+ failed: 3 of 3 attempts failed; BackoffLimit/);
    assert.deepEqual(objectsIn(bucketPath()), {});
  });

  it('--timestamp-prefix writes into a YYYY-MM-DD-HHMMSS/ folder, and logs shows the entrypoint', async () => {
    const result = await dm(ns.name, [
      'create',
      'stamped',
      '--pvc',
      'data',
      '--secret',
      's3',
      '--timestamp-prefix',
      '--wait',
      '--timeout',
      '150s',
    ]);
    assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
    const folders = readdirSync(bucketPath());
    assert.equal(folders.length, 1, folders.join(', '));
    assert.match(folders[0]!, /^\d{4}-\d{2}-\d{2}-\d{6}$/);
    assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume.folder));

    const logs = await dm(ns.name, ['logs', 'stamped']);
    assert.equal(logs.exitCode, 0, String(logs.stderr));
    const out = String(logs.stdout);
    assert.match(out, /Starting rclone configuration/);
    assert.match(out, /Rclone version: v1\.76\.0/);
    assert.match(out, new RegExp(`Timestamp prefix enabled\\. Destination: s3generic:[^/]+/${folders[0]}/`));
    assert.match(out, /Rclone sync completed successfully/);
  });

  it('a Job pod whose Secret is missing does not start: CreateContainerConfigError, as with a kubelet', async () => {
    // Past the plugin's preflight (which refuses a missing Secret), straight to the operator.
    const result = await dm(ns.name, ['create', 'nosecret', '--pvc', 'data', '--secret', 'absent', '--skip-preflight']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    let reason = '';
    for (let i = 0; i < 600 && reason !== 'CreateContainerConfigError'; i++) {
      const state = await kubectl(
        ['get', 'pods', '-n', ns.name, '-o', 'jsonpath={.items[0].status.containerStatuses[0].state.waiting.reason}'],
        { reject: false },
      );
      reason = String(state.stdout);
      if (reason !== 'CreateContainerConfigError') await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(reason, 'CreateContainerConfigError');
    const pod = JSON.parse(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'json'])).stdout)).items[0];
    assert.equal(pod.status.phase, 'Pending');
    assert.equal(pod.status.containerStatuses[0].state.waiting.message, 'secret "absent" not found');
  });

  describe('status, --watch and --wait follow what it does', () => {
    it('--watch prints every phase it passes, in order, the millisecond ones too', async () => {
      const watch = execa(bin, ['status', '--watch', '-n', ns.name, '-v', '6'], { env: userEnv(), reject: false });
      let printed = '';
      let said = '';
      watch.stdout?.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
      });
      watch.stderr?.on('data', (chunk: Buffer) => {
        said += chunk.toString();
      });
      // From its first list on, the watch sees every change.
      await eventually(async () => assert.match(said, /list datamovers\.\S+ in namespace "[^"]+": OK/));
      const args = ['create', 'once', '--pvc', 'data', '--secret', 's3', '--delete-clone-after', '--wait'];
      const created = await dm(ns.name, [...args, '--timeout', '150s']);
      assert.equal(created.exitCode, 0, `${created.stdout}\n${created.stderr}`);
      await eventually(async () => assert.match(printed, /\sCompleted/));
      watch.kill();
      await watch;
      const lines = printed.trim().split('\n');
      assert.deepEqual(
        lines.map((line) => line.split(/\s+/)[2]),
        ['Pending', 'CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed'],
        printed,
      );
      assert.match(lines[1]!, /^\S+\s+once\s+CreatingClonedPVC\s+clone=data-cloned-\d+$/);
      assert.match(lines[3]!, /\sjob=verify-data-cloned-\d+ attempts=\d$/);
      // The operator deleted the clone in CleaningUp, but the Job's finished pod still mounts it.
      assert.match(
        String(created.stderr),
        /warning: the operator deleted the clone data-cloned-\d+, but it stays Term/,
      );
      const clone = /clone=(\S+)/.exec(lines[1]!)![1]!;
      const cloneDeleted = ['get', 'pvc', clone, '-n', ns.name, '-o', 'jsonpath={.metadata.deletionTimestamp}'];
      assert.notEqual(String((await kubectl(cloneDeleted)).stdout), '');
      // A watch of a finished DataMover prints its phase and ends.
      const again = await dm(ns.name, ['status', 'once', '--watch']);
      assert.equal(again.exitCode, 0, String(again.stderr));
      assert.match(
        String(again.stdout),
        /^\S+\s+once\s+Completed\s+clone=data-cloned-\d+\s+job=verify-\S+ attempts=1$/,
      );
      // Deleting the DataMover deletes its Job, and so the clone goes.
      const deleted = await dm(ns.name, ['delete', 'once']);
      assert.equal(deleted.exitCode, 0, String(deleted.stderr));
      assert.match(String(deleted.stdout), /clone persistentvolumeclaim\/\S+ was being deleted; it goes once/);
      const pvcs = ['get', 'pvc', '-n', ns.name, '-o', 'name'];
      await eventually(async () =>
        assert.equal(String((await kubectl(pvcs)).stdout).trim(), 'persistentvolumeclaim/data'),
      );
    });

    it('status shows the clone and the Job while the operator waits for the Job', async () => {
      // The operator looks at its Job every 15 s (it does not own it, so Job changes do not wake it).
      const args = ['create', 'once', '--pvc', 'data', '--secret', 's3', '--wait'];
      const run = dm(ns.name, [...args, '--timeout', '150s']);
      let clone = '';
      await eventually(async () => {
        const wide = String((await dm(ns.name, ['status', '-o', 'wide'])).stdout);
        const row = /^once\s+data\s+CreatingPod\s+(data-cloned-\d+)\s+\S+\s+s3\s+false\s+verify-\1\s+1\s/m.exec(wide);
        assert.ok(row, wide);
        clone = row[1]!;
        const describe = String((await dm(ns.name, ['status', 'once'])).stdout);
        assert.match(describe, /Phase:\s+CreatingPod/);
        assert.match(describe, new RegExp(`Clone:\\s+${clone}`));
        assert.match(describe, new RegExp(`Job:\\s+verify-${clone} \\(attempts 1 of 3, active [01], succeeded [01]`));
      }, 60_000);
      const result = await run;
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      const json = JSON.parse(String((await dm(ns.name, ['status', '-o', 'json'])).stdout));
      assert.equal(json.dataMovers[0].status.phase, 'Completed');
      assert.equal(json.dataMovers[0].status.restoredPvcName, clone);
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(volume.folder));
    });

    it('--wait follows the Job past Failed to the retry that synced the data; --watch ends on Failed', async () => {
      // The first attempts run with a wrong key; the kubelet reads the Secret anew for each.
      await createStorageSecret(ns.name, 'flaky', { TLS_HOST: 'false', AWS_SECRET_ACCESS_KEY: 'not-the-key' });
      const args = ['create', 'once', '--pvc', 'data', '--secret', 'flaky', '--timestamp-prefix', '--wait'];
      const run = dm(ns.name, [...args, '--timeout', '150s']);
      let settled = false;
      void run.finally(() => {
        settled = true;
      });
      // The operator looks at its Job every 15 s: by then one or two attempts have failed, and the next
      // one starts 20 s after the second (the Job's backoff).
      await eventually(async () => {
        if (settled) assert.fail(`create --wait ended early: ${(await run).stderr}`);
        const status = await dm(ns.name, ['status', 'once']);
        const text = `${status.stdout}\n${status.stderr}`;
        assert.match(text, /Phase:\s+Failed/);
        assert.match(text, /\(attempts \d of 3, .*failed [12]: retrying/);
        assert.match(text, /SignatureDoesNotMatch/);
      }, 60_000);
      const watch = await dm(ns.name, ['status', 'once', '--watch']);
      assert.equal(watch.exitCode, 1);
      assert.match(
        String(watch.stderr),
        new RegExp(
          '^error: DataMover "once" failed \\(job verify-\\S+ retrying: .*; ' +
            'the operator does not change a Failed DataMover again\\); see kubectl datamover status once',
        ),
      );
      assert.equal(String(watch.stderr).trim().split('\n').length, 1, String(watch.stderr));
      assert.equal(settled, false, '--wait ended while the Job was still retrying');
      await createStorageSecret(ns.name, 'flaky', { TLS_HOST: 'false' });

      const result = await run;
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(String(result.stderr), /is Failed \(the operator marks it at the first failed Job pod/);
      assert.match(String(result.stderr), /SignatureDoesNotMatch/);
      assert.match(
        String(result.stderr),
        /warning: DataMover "once" stays Failed .* succeeded at attempt [23] of 3: the data was synced/,
      );
      const [folder] = readdirSync(bucketPath());
      assert.deepEqual(objectsIn(bucketPath(folder!)), expectedObjects(volume.folder));
    });
  });

  describe('its backups', () => {
    /** One backup by the real operator into a timestamp folder; its name. */
    async function operatorBackup(name: string): Promise<string> {
      const args = ['create', name, '--pvc', 'data', '--secret', 's3', '--timestamp-prefix', '--wait'];
      const result = await dm(ns.name, [...args, '--timeout', '150s']);
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      return readdirSync(bucketPath()).sort().at(-1)!;
    }

    it('are listed, restored (bytes, mtimes; modes said to be unrecorded) and verified against the PVC', async () => {
      const past = new Date('2024-02-29T12:34:56Z');
      utimesSync(join(volume.folder, 'hello.txt'), past, past);
      const folder = await operatorBackup('first');

      const list = await dm(ns.name, ['backups', 'list', '--secret', 's3']);
      assert.equal(list.exitCode, 0, String(list.stderr));
      assert.match(String(list.stdout), new RegExp(`^${folder}\\s+\\S+\\s+5\\s+.*\\sno$`, 'm'));

      const args = ['restore', '--secret', 's3', '--from', folder, '--to-pvc', 'back', '--create', '--size', '1Gi'];
      const restore = await dm(ns.name, args);
      assert.equal(restore.exitCode, 0, String(restore.stderr));
      const unrecorded = /has no manifest \(the operator writes none\): file modes, owners, empty folders/;
      assert.match(String(restore.stderr), unrecorded);
      const restored = snapshot(await volumeFolder(ns.name, 'back'), { mtimes: true });
      const original = snapshot(volume.folder, { mtimes: true });
      for (const [path, entry] of Object.entries(original)) {
        if (entry.type !== 'file') continue;
        assert.equal(restored[path]?.sha256, entry.sha256, path);
        assert.equal(restored[path]?.mtime, entry.mtime, `mtime of ${path}`);
      }

      const verify = await dm(ns.name, ['verify', '--secret', 's3', '--from', folder, '--against-pvc', 'data']);
      assert.equal(verify.exitCode, 0, `${verify.stdout}\n${verify.stderr}`);
      assert.match(String(verify.stdout), /OK: backup .* matches its objects \(no manifest/);
      writeFileSync(join(volume.folder, 'hello.txt'), 'changed since the backup\n');
      const changed = await dm(ns.name, ['verify', '--secret', 's3', '--from', folder, '--against-pvc', 'data']);
      assert.equal(changed.exitCode, 1);
      assert.match(String(changed.stdout), /^SIZE +hello\.txt/m);
    });

    it('have the same object keys and contents as a local backup of the same PVC (links aside)', async () => {
      symlinkSync('hello.txt', join(volume.folder, 'link-to-hello'));
      const byOperator = await operatorBackup('layout');
      await new Promise((r) => setTimeout(r, 1100)); // a new timestamp folder
      const local = await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timestamp-prefix']);
      assert.equal(local.exitCode, 0, String(local.stderr));
      const byPlugin = readdirSync(bucketPath()).sort().at(-1)!;
      assert.notEqual(byPlugin, byOperator);
      // The plugin keeps the link as an .rclonelink object (and its manifest); the operator's sync skips links.
      const pluginObjects = objectsIn(bucketPath(byPlugin));
      assert.ok(pluginObjects['link-to-hello.rclonelink'], 'the plugin kept the symlink');
      assert.deepEqual(
        objectsIn(bucketPath(byOperator)),
        objectsIn(bucketPath(byPlugin), { exclude: /\.rclonelink$/ }),
      );
    });
  });
});
