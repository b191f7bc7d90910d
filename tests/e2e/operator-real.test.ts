// Operator mode against the real DataMover operator (built from its source) on the bed:
// its Job pods run the operator's own entrypoint with the pinned rclone (the bed's
// job-runner is their kubelet), so data really moves to the bed's S3 server.
// Skipped, with one line saying why, when the operator is not running on the bed.
import assert from 'node:assert/strict';
import { readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datamover, kubectl, volumeFolder } from './support/bed.ts';
import { snapshot } from './support/tree.ts';
import { useRealOperatorVolume } from './support/operator.ts';
import { bucketPath, createStorageSecret, expectedObjects, objectsIn } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

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
