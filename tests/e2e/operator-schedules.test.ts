// Operator mode against the real DataMover operator: its DataMoverSchedules, run-now, status,
// logs and delete (see operator-real.test.ts for the single runs). A file of its own so that,
// with mocha --parallel, these minute-long waits for a tick overlap the other files.
// Skipped, with one line saying why, when the operator is not running on the bed.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { datamover, kubectl } from './support/bed.ts';
import { useRealOperatorVolume } from './support/operator.ts';
import { bucketPath, expectedObjects, objectsIn } from './support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

describe('the real operator: schedules, run-now, status, logs and delete', function () {
  // A tick is at most a minute away and each run takes 30-50 s (the operator requeues every 15 s).
  this.timeout(300_000);
  const { ns, volume } = useRealOperatorVolume();

  it('a schedule runs at its tick: owned, Completed into a timestamp folder; status, logs and delete', async () => {
    // The first status must come before the first tick, even on a loaded machine.
    await sleep(secondsBeforeTick(20) * 1000);
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
    assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume.folder));
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
    assert.deepEqual(objectsIn(bucketPath(folders[0]!)), expectedObjects(volume.folder));

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
    assert.match(String(deleted.stdout), new RegExp(`^job\\.batch/verify-${clone} deleted \\(with its 1 pod\\)$`, 'm'));
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

/** How long to wait for at least `seconds` before the next minute's tick (0 when there are). */
function secondsBeforeTick(seconds: number): number {
  const intoMinute = (Date.now() / 1000) % 60;
  return intoMinute > 60 - seconds ? 60 - intoMinute + 1 : 0;
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
