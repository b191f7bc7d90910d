// Operator mode against the real DataMover operator (built from its source) on the bed:
// its Job pods run the operator's own entrypoint with the pinned rclone (the bed's
// job-runner is their kubelet), so data really moves to the bed's S3 server.
// Skipped, with one line saying why, when the operator is not running on the bed.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBoundPvc, datamover, kubectl, volumeFolder } from './support/bed.ts';
import { snapshot } from './support/tree.ts';
import { useRealOperatorNamespace } from './support/operator.ts';
import { bucketPath, createStorageSecret, emptyBucket, expectedObjects, objectsIn } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

/** A small tree with what a volume holds: nested folders, an empty file, a name with spaces, a private file. */
function fillVolume(folder: string): void {
  mkdirSync(join(folder, 'deep', 'er'), { recursive: true });
  writeFileSync(join(folder, 'hello.txt'), 'hello from the PVC\n');
  writeFileSync(join(folder, 'deep', 'er', 'bytes.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251)));
  writeFileSync(join(folder, 'empty'), '');
  writeFileSync(join(folder, 'with spaces.txt'), 'spaces\n');
  // Root's and unreadable by the pod's user (65534) but for the volume's fsGroup, as on a real node.
  writeFileSync(join(folder, 'private.key'), 'secret bytes\n');
  chmodSync(join(folder, 'private.key'), 0o600);
}

describe('operator mode against the real operator', function () {
  this.timeout(180_000);
  const ns = useRealOperatorNamespace();
  let volume = '';
  beforeEach(async () => {
    emptyBucket();
    volume = await createBoundPvc(ns.name, 'data');
    fillVolume(volume);
    // The operator's entrypoint defaults differ from the plugin's (TLS_HOST true, BUCKET_PORT 443): all explicit.
    await createStorageSecret(ns.name, 's3', { TLS_HOST: 'false' });
  });

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
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(volume));
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
    assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume));

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
      utimesSync(join(volume, 'hello.txt'), past, past);
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
      const original = snapshot(volume, { mtimes: true });
      for (const [path, entry] of Object.entries(original)) {
        if (entry.type !== 'file') continue;
        assert.equal(restored[path]?.sha256, entry.sha256, path);
        assert.equal(restored[path]?.mtime, entry.mtime, `mtime of ${path}`);
      }

      const verify = await dm(ns.name, ['verify', '--secret', 's3', '--from', folder, '--against-pvc', 'data']);
      assert.equal(verify.exitCode, 0, `${verify.stdout}\n${verify.stderr}`);
      assert.match(String(verify.stdout), /OK: backup .* matches its objects \(no manifest/);
      writeFileSync(join(volume, 'hello.txt'), 'changed since the backup\n');
      const changed = await dm(ns.name, ['verify', '--secret', 's3', '--from', folder, '--against-pvc', 'data']);
      assert.equal(changed.exitCode, 1);
      assert.match(String(changed.stdout), /^SIZE +hello\.txt/m);
    });

    it('have the same object keys and contents as a local backup of the same PVC (links aside)', async () => {
      symlinkSync('hello.txt', join(volume, 'link-to-hello'));
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

  describe('its schedules, run-now, status, logs and delete', function () {
    // A tick is at most a minute away and each run takes 30-50 s (the operator requeues every 15 s).
    this.timeout(300_000);

    it('a schedule runs at its tick: owned, Completed into a timestamp folder; status, logs and delete', async () => {
      const uid = await createSchedule(ns.name, []);
      const statusBefore = Date.now();
      const listed = await dm(ns.name, ['status']);
      assert.equal(listed.exitCode, 0, String(listed.stderr));
      const nextRun = /^nightly\s+data\s+\* \* \* \* \*\s+false\s+<never>\s+(\S+)\s+0$/m.exec(String(listed.stdout));
      assert.ok(nextRun, String(listed.stdout));
      assert.ok([nextMinute(statusBefore), nextMinute(Date.now())].includes(nextRun[1]!), nextRun[1]);

      // The controller requeues itself for the next tick and makes the run if it reconciles within a second of it.
      const [run] = await until('a run of the schedule', 75_000, async () => {
        const found = await schedulesMovers(ns.name);
        return found.length ? found : undefined;
      });
      const name = run!.metadata.name;
      const tick = Number(/^nightly-(\d+)$/.exec(name)?.[1]);
      assert.equal(tick % 60, 0, `${name} is named after its tick`);
      // status: the run, and the schedule with its last run (written right after the run), the next tick, 1 active.
      const scheduleRow = /^nightly\s+data\s+\* \* \* \* \*\s+false\s+\d+s ago\s+(\S+)\s+1$/m;
      const table = await until('the run in the schedule status', 10_000, async () => {
        const out = await dm(ns.name, ['status']);
        assert.equal(out.exitCode, 0, String(out.stderr));
        return scheduleRow.test(String(out.stdout)) ? String(out.stdout) : undefined;
      });
      // No run more after this one.
      assert.equal((await dm(ns.name, ['suspend', 'nightly'])).exitCode, 0);
      assert.equal(scheduleRow.exec(table)![1], nextMinute(tick * 1000));
      assert.match(
        table,
        new RegExp(`^${name}\\s+data\\s+(Pending|CreatingClonedPVC|ClonedPVCReady|CreatingPod)\\s`, 'm'),
      );
      assert.deepEqual(run!.metadata.labels, {
        datamoverschedule: 'nightly',
        'datamoverschedule-schedule': String(tick),
      });
      assert.deepEqual(run!.metadata.ownerReferences, [ownerReference('nightly', uid)]);
      const schedule = await getJson(ns.name, 'datamoverschedule', 'nightly');
      assert.equal(new Date(schedule.status.lastScheduleTime).getTime(), tick * 1000);

      const completed = await until(`${name} Completed`, 150_000, async () => {
        const mover = await getJson(ns.name, 'datamover', name);
        assert.notEqual(mover.status?.phase, 'Failed', JSON.stringify(mover.status));
        return mover.status?.phase === 'Completed' ? mover : undefined;
      });
      const folders = readdirSync(bucketPath());
      assert.equal(folders.length, 1, folders.join(', '));
      assert.match(folders[0]!, /^\d{4}-\d{2}-\d{2}-\d{6}$/);
      assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume));
      const after = String((await dm(ns.name, ['status'])).stdout);
      assert.match(after, new RegExp(`^${name}\\s+data\\s+Completed\\s+data-cloned-\\d+\\s`, 'm'));
      assert.match(after, /^nightly\s+data\s+\* \* \* \* \*\s+true\s+\d+s ago\s+<suspended>\s/m);

      const clone = completed.status.restoredPvcName as string;
      const job = `verify-${clone}`;
      const [pod] = await namesOf(ns.name, 'pods', `job-name=${job}`);
      const describe = await dm(ns.name, ['status', name]);
      assert.equal(describe.exitCode, 0, String(describe.stderr));
      const text = String(describe.stdout);
      assert.match(text, /^Phase:\s+Completed$/m);
      assert.match(text, new RegExp(`^Clone:\\s+${clone}$`, 'm'));
      const attempts = 'attempts 1 of 3, active 0, succeeded 1, failed 0: succeeded at attempt 1 of 3';
      assert.match(text, new RegExp(`^Job:\\s+${job} \\(${attempts}\\)$`, 'm'));
      assert.match(text, new RegExp(`^Pods:\\s+${pod} \\(Succeeded, exit 0\\)$`, 'm'));

      const logs = await dm(ns.name, ['logs', name]);
      assert.equal(logs.exitCode, 0, String(logs.stderr));
      assert.match(
        String(logs.stdout),
        new RegExp(`Timestamp prefix enabled\\. Destination: s3generic:[^/]+/${folders[0]}/`),
      );
      assert.match(String(logs.stdout), /Rclone sync completed successfully/);

      const deleted = await dm(ns.name, ['delete', name]);
      assert.equal(deleted.exitCode, 0, String(deleted.stderr));
      assert.match(String(deleted.stdout), new RegExp(`^job\\.batch/${job} deleted \\(with its 1 pod\\)$`, 'm'));
      assert.match(
        String(deleted.stdout),
        new RegExp(`^clone persistentvolumeclaim/${clone} kept .*pass --delete-clone to delete it too$`, 'm'),
      );
      assert.deepEqual(await namesOf(ns.name, 'datamovers'), []);
      assert.deepEqual(await namesOf(ns.name, 'jobs'), []);
      await until(`the pods of ${job} gone`, 30_000, async () =>
        (await namesOf(ns.name, 'pods', `job-name=${job}`)).length ? undefined : true,
      );
      assert.deepEqual(await namesOf(ns.name, 'pvc'), [clone, 'data'].sort());
    });

    it('a suspended schedule makes no run at a tick, run-now does (owned, collected with it); resume', async () => {
      // Suspended: only run-now makes runs, until resume.
      const uid = await createSchedule(ns.name, ['--suspend']);
      const tickPassed = Math.ceil((Date.now() + 1) / 60_000) * 60_000 + 3_000;
      const runNow = await dm(ns.name, ['run-now', 'nightly']);
      assert.equal(runNow.exitCode, 0, String(runNow.stderr));
      const first = /^datamover\.datamover\.a-cup-of\.coffee\/(nightly-(\d+)) created/.exec(String(runNow.stdout));
      assert.ok(first, String(runNow.stdout));
      const [, name, unix] = first;

      // Processed by the operator while the suspended schedule lets a tick pass without a run of its own.
      const completed = await until(`${name} Completed, and a tick passed`, 150_000, async () => {
        assert.deepEqual(
          (await schedulesMovers(ns.name)).map((m) => m.metadata.name),
          [name],
        );
        const mover = await getJson(ns.name, 'datamover', name!);
        assert.notEqual(mover.status?.phase, 'Failed', JSON.stringify(mover.status));
        return mover.status?.phase === 'Completed' && Date.now() > tickPassed ? mover : undefined;
      });
      assert.deepEqual(completed.metadata.labels, { datamoverschedule: 'nightly', 'datamoverschedule-schedule': unix });
      assert.deepEqual(completed.metadata.ownerReferences, [ownerReference('nightly', uid)]);
      const folders = readdirSync(bucketPath());
      assert.equal(folders.length, 1, folders.join(', '));
      assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume));

      assert.equal((await dm(ns.name, ['resume', 'nightly'])).exitCode, 0);
      const scheduled = await until('a run at the next tick', 75_000, async () =>
        (await schedulesMovers(ns.name)).find((m) => m.metadata.name !== name),
      );
      assert.equal((await dm(ns.name, ['suspend', 'nightly'])).exitCode, 0);
      const tick = Number(/^nightly-(\d+)$/.exec(scheduled.metadata.name)?.[1]);
      assert.equal(tick % 60, 0, `${scheduled.metadata.name} is named after its tick`);
      assert.equal(scheduled.metadata.labels['datamoverschedule-schedule'], String(tick));
      // The operator's own run and run-now's carry the same labels and controller reference.
      assert.deepEqual(Object.keys(scheduled.metadata.labels).sort(), Object.keys(completed.metadata.labels).sort());
      assert.deepEqual(scheduled.metadata.ownerReferences, completed.metadata.ownerReferences);

      // The scheduled run too, to completion (nothing of it left running), then delete --delete-clone.
      const second = await until(`${scheduled.metadata.name} Completed`, 150_000, async () => {
        const mover = await getJson(ns.name, 'datamover', scheduled.metadata.name);
        assert.notEqual(mover.status?.phase, 'Failed', JSON.stringify(mover.status));
        return mover.status?.phase === 'Completed' ? mover : undefined;
      });
      assert.equal(readdirSync(bucketPath()).length, 2);
      const clone = second.status.restoredPvcName as string;
      const deleted = await dm(ns.name, ['delete', second.metadata.name, '--delete-clone']);
      assert.equal(deleted.exitCode, 0, String(deleted.stderr));
      assert.match(
        String(deleted.stdout),
        new RegExp(`^job\\.batch/verify-${clone} deleted \\(with its 1 pod\\)$`, 'm'),
      );
      assert.match(String(deleted.stdout), new RegExp(`^clone persistentvolumeclaim/${clone} deleted$`, 'm'));
      await until(`the Job's pods and the clone ${clone} gone`, 30_000, async () => {
        const pods = await namesOf(ns.name, 'pods', `job-name=verify-${clone}`);
        return pods.length === 0 && !(await namesOf(ns.name, 'pvc')).includes(clone) ? true : undefined;
      });
      assert.deepEqual(await namesOf(ns.name, 'datamovers'), [name]);

      // The garbage collector deletes run-now's DataMover with the schedule; its Job has no owner and stays.
      const schedule = await dm(ns.name, ['delete', 'nightly', '--schedule']);
      assert.equal(schedule.exitCode, 0, String(schedule.stderr));
      await until(`${name} collected`, 60_000, async () =>
        (await namesOf(ns.name, 'datamovers')).length ? undefined : true,
      );
      assert.deepEqual(await namesOf(ns.name, 'jobs'), [`verify-${completed.status.restoredPvcName}`]);
    });
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a DataMover or DataMoverSchedule as kubectl prints it.
type Json = any;

/** `create nightly` every minute into a timestamp folder (with `extra` flags); the schedule's uid. */
async function createSchedule(namespace: string, extra: string[]): Promise<string> {
  const args = [
    'create',
    'nightly',
    '--pvc',
    'data',
    '--secret',
    's3',
    '--schedule',
    '* * * * *',
    '--timestamp-prefix',
  ];
  const result = await dm(namespace, [...args, ...extra]);
  assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  return (await getJson(namespace, 'datamoverschedule', 'nightly')).metadata.uid;
}

/** What controllerutil.SetControllerReference puts on the DataMovers of a schedule. */
function ownerReference(name: string, uid: string): Json {
  const apiVersion = 'datamover.a-cup-of.coffee/v1alpha1';
  return { apiVersion, kind: 'DataMoverSchedule', name, uid, controller: true, blockOwnerDeletion: true };
}

/** The first minute after `ms`, as status prints NEXT RUN. */
function nextMinute(ms: number): string {
  return new Date((Math.floor(ms / 60_000) + 1) * 60_000).toISOString().replace('.000Z', 'Z');
}

/**
 * Polls `check` (every 500 ms) until it returns something other than undefined; an assertion that
 * fails inside it fails at once. Fails with `what` when `timeoutMs` has passed.
 */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(500)) {
    const value = await check();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function getJson(namespace: string, kind: string, name: string): Promise<Json> {
  return JSON.parse(String((await kubectl(['get', kind, name, '-n', namespace, '-o', 'json'])).stdout));
}

/** The DataMovers of schedule nightly (as its controller lists them), oldest first. */
async function schedulesMovers(namespace: string): Promise<Json[]> {
  const args = ['get', 'datamovers', '-n', namespace, '-l', 'datamoverschedule=nightly', '-o', 'json'];
  const items: Json[] = JSON.parse(String((await kubectl(args)).stdout)).items;
  return items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Names of the objects of a kind in the namespace (with a label selector), sorted. */
async function namesOf(namespace: string, kind: string, selector?: string): Promise<string[]> {
  const args = ['get', kind, '-n', namespace, ...(selector ? ['-l', selector] : [])];
  const out = await kubectl([...args, '-o', 'jsonpath={.items[*].metadata.name}']);
  return String(out.stdout).split(' ').filter(Boolean).sort();
}
