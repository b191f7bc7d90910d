// Operator mode on the bed: create writes exactly the objects the operator's
// API takes, preflight refuses bad input before writing, and status, --watch,
// --wait and logs show what the (test-played) operator does.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { bed, createBoundPvc, datamover, kubectl, useNamespace, userEnv } from './support/bed.ts';
import { createStorageSecret } from './support/storage.ts';
import { makeCloneAndJob, setPhase } from './support/operator.ts';
import { REPO_ROOT } from '../testbed/paths.ts';
import { join } from 'node:path';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
const objectsIn = async (namespace: string) =>
  String((await kubectl(['get', 'datamovers,datamoverschedules', '-n', namespace, '-o', 'name'])).stdout).trim();

describe('operator mode', () => {
  const ns = useNamespace('op');
  beforeEach(async () => {
    await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  describe('create', () => {
    it('puts every flag into the right spec field of a DataMover, and the server accepts it', async () => {
      await kubectl(['create', 'configmap', 'tuning', '-n', ns.name, '--from-literal=transfers=8']);
      const result = await dm(ns.name, [
        'create',
        'once',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--timestamp-prefix',
        '--delete-clone-after',
        '--env',
        'RCLONE_CHECKERS=16',
        '--env-from-configmap',
        'RCLONE_TRANSFERS=tuning:transfers',
        '--env-from-secret',
        'EXTRA=s3:AWS_REGION',
        '--image',
        'registry.example.com/rclone:v1.2.3',
        '--pull-policy',
        'IfNotPresent',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const spec = JSON.parse(
        String((await kubectl(['get', 'datamover', 'once', '-n', ns.name, '-o', 'jsonpath={.spec}'])).stdout),
      );
      assert.deepEqual(spec, {
        sourcePvc: 'data',
        secretName: 's3',
        addTimestampPrefix: true,
        deletePvcAfterBackup: true,
        additionalEnv: [
          { name: 'RCLONE_CHECKERS', value: '16' },
          { name: 'RCLONE_TRANSFERS', valueFrom: { configMapKeyRef: { name: 'tuning', key: 'transfers' } } },
          { name: 'EXTRA', valueFrom: { secretKeyRef: { name: 's3', key: 'AWS_REGION' } } },
        ],
        image: { repository: 'registry.example.com/rclone', tag: 'v1.2.3', pullPolicy: 'IfNotPresent' },
      });
    });

    it('writes a --profile and --bwlimit into additionalEnv, an explicit --env winning', async () => {
      const result = await dm(ns.name, [
        'create',
        'tuned',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--profile',
        'large-files',
        '--bwlimit',
        '5M',
        '--env',
        'RCLONE_MULTI_THREAD_STREAMS=8',
        '--dry-run=server',
        '-o',
        'json',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(JSON.parse(String(result.stdout)).spec.additionalEnv, [
        { name: 'RCLONE_MULTI_THREAD_CUTOFF', value: '50M' },
        { name: 'RCLONE_MULTI_THREAD_STREAMS', value: '8' },
        { name: 'RCLONE_BWLIMIT', value: '5M' },
      ]);
    });

    it('makes a DataMoverSchedule with --schedule and its own fields', async () => {
      const result = await dm(ns.name, [
        'create',
        'nightly',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--schedule',
        '*/15 2 * * 0',
        '--suspend',
        '--keep-successful',
        '5',
        '--keep-failed',
        '2',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const spec = JSON.parse(
        String(
          (await kubectl(['get', 'datamoverschedule', 'nightly', '-n', ns.name, '-o', 'jsonpath={.spec}'])).stdout,
        ),
      );
      assert.equal(spec.schedule, '*/15 2 * * 0');
      assert.equal(spec.suspend, true);
      assert.equal(spec.successfulJobsHistoryLimit, 5);
      assert.equal(spec.failedJobsHistoryLimit, 2);
      assert.equal(spec.sourcePvc, 'data');
    });

    it('prints the exact object with --dry-run=client -o yaml, which kubectl apply accepts', async () => {
      const printed = await dm(ns.name, [
        'create',
        'gitops',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--dry-run=client',
        '-o',
        'yaml',
      ]);
      assert.equal(printed.exitCode, 0, String(printed.stderr));
      assert.equal(await objectsIn(ns.name), '');
      await kubectl(['apply', '-n', ns.name, '-f', '-'], { input: String(printed.stdout) });
      assert.equal(await objectsIn(ns.name), 'datamover.datamover.a-cup-of.coffee/gitops');
    });

    it('--dry-run=server lets the API server validate without writing', async () => {
      const result = await dm(ns.name, [
        'create',
        'probe',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--dry-run=server',
        '-o',
        'json',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.equal(JSON.parse(String(result.stdout)).spec.addTimestampPrefix, false);
      assert.equal(await objectsIn(ns.name), '');
    });

    const refusals: Array<[string, string[], RegExp, number]> = [
      [
        'a PVC that does not exist',
        ['create', 'x', '--pvc', 'missing', '--secret', 's3'],
        /persistentvolumeclaim "missing" in namespace "[^"]+" not found/,
        1,
      ],
      [
        'a Secret without BUCKET_PORT',
        ['create', 'x', '--pvc', 'data', '--secret', 'partial'],
        /Secret "partial" is missing key BUCKET_PORT/,
        1,
      ],
      [
        'an invalid --env name',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--env', '1BAD=x'],
        /--env "1BAD" is not a valid environment variable name/,
        2,
      ],
      [
        'a cron with a wrong field',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--schedule', '0 25 * * *'],
        /the hour field "25" is out of range/,
        2,
      ],
      [
        'a cron with six fields',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--schedule', '0 0 * * * *'],
        /has 6 fields, cron needs 5/,
        2,
      ],
      [
        'a name that is not DNS-1123',
        ['create', 'Bad_Name', '--pvc', 'data', '--secret', 's3'],
        /the name "Bad_Name" is not a valid name/,
        2,
      ],
      [
        'a ConfigMap key that does not exist',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--env-from-configmap', 'A=nocm:key'],
        /configmap "nocm" in namespace "[^"]+" not found/,
        1,
      ],
    ];
    for (const [what, args, message, code] of refusals) {
      it(`refuses ${what} in one line, exit ${code}, writing nothing`, async () => {
        await createStorageSecret(ns.name, 'partial', { BUCKET_PORT: undefined });
        const result = await dm(ns.name, args);
        assert.equal(result.exitCode, code, String(result.stderr));
        const errors = String(result.stderr).trim().split('\n');
        assert.equal(errors.length, 1, String(result.stderr));
        assert.match(errors[0]!, message);
        assert.match(errors[0]!, /^error: .+; .+/);
        assert.equal(await objectsIn(ns.name), '');
      });
    }

    it('refuses a PVC that is not Bound', async () => {
      await createBoundPvcPending(ns.name);
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'pending', '--secret', 's3']);
      assert.equal(result.exitCode, 1);
      assert.match(String(result.stderr), /PVC "pending" in namespace "[^"]+" is Pending, not Bound/);
      assert.equal(await objectsIn(ns.name), '');
    });

    it('refuses a name that is taken', async () => {
      assert.equal((await dm(ns.name, ['create', 'taken', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      const again = await dm(ns.name, ['create', 'taken', '--pvc', 'data', '--secret', 's3']);
      assert.equal(again.exitCode, 1);
      assert.match(String(again.stderr), /DataMover "taken" already exists/);
    });

    it('--skip-preflight writes without checking the cluster first', async () => {
      const result = await dm(ns.name, [
        'create',
        'gitops',
        '--pvc',
        'not-yet-there',
        '--secret',
        's3',
        '--skip-preflight',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.equal(await objectsIn(ns.name), 'datamover.datamover.a-cup-of.coffee/gitops');
    });
  });

  describe('status, watch, wait and logs', () => {
    it('shows every phase, the clone and the Job', async () => {
      assert.equal((await dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      const { clone, job } = await makeCloneAndJob(ns.name, 'data', 's3', ['copied 3 files']);
      for (const phase of ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed', 'Failed']) {
        await setPhase(ns.name, 'once', phase, clone);
        const table = String((await dm(ns.name, ['status', '-o', 'wide'])).stdout);
        assert.match(
          table,
          new RegExp(`^once\\s+data\\s+${phase}\\s+${clone}\\s+\\S+\\s+s3\\s+false\\s+${job}\\s+\\d+`, 'm'),
        );
        const json = JSON.parse(String((await dm(ns.name, ['status', '-o', 'json'])).stdout));
        assert.equal(json.dataMovers[0].status.phase, phase);
      }
      const describe = String((await dm(ns.name, ['status', 'once'])).stdout);
      assert.match(describe, new RegExp(`Clone:\\s+${clone}`));
      assert.match(describe, new RegExp(`Job:\\s+${job} \\(attempts \\d`));
    });

    it('lists across namespaces with -A', async () => {
      assert.equal((await dm(ns.name, ['create', 'here', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      const result = await datamover(['status', '-A']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stdout), /^NAMESPACE\s+NAME\s+PVC\s+PHASE/m);
      assert.match(String(result.stdout), new RegExp(`^${ns.name}\\s+here\\s+data\\s+Pending`, 'm'));
    });

    it('shows schedules with their next run', async () => {
      assert.equal(
        (await dm(ns.name, ['create', 'nightly', '--pvc', 'data', '--secret', 's3', '--schedule', '0 2 * * *']))
          .exitCode,
        0,
      );
      const out = String((await dm(ns.name, ['status'])).stdout);
      assert.match(out, /nightly\s+data\s+0 2 \* \* \*\s+false\s+<never>\s+\d{4}-\d{2}-\d{2}T02:00:00Z\s+0/);
      assert.equal((await dm(ns.name, ['suspend', 'nightly'])).exitCode, 0);
      assert.match(
        String((await dm(ns.name, ['status'])).stdout),
        /nightly\s+data\s+0 2 \* \* \*\s+true\s+<never>\s+<suspended>/,
      );
      assert.equal((await dm(ns.name, ['resume', 'nightly'])).exitCode, 0);
      const runNow = await dm(ns.name, ['run-now', 'nightly']);
      assert.equal(runNow.exitCode, 0, String(runNow.stderr));
      assert.match(await objectsIn(ns.name), /datamover\.datamover\.a-cup-of\.coffee\/nightly-manual-\d+/);
    });

    it('--watch prints the phase transitions in order and ends on Completed', async () => {
      assert.equal((await dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      const watch = execa(join(REPO_ROOT, 'bin', 'kubectl-datamover'), ['status', 'once', '--watch', '-n', ns.name], {
        env: userEnv(),
        extendEnv: false,
        reject: false,
      });
      for (const phase of ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed']) {
        await sleep(1200);
        await setPhase(ns.name, 'once', phase);
      }
      const result = await watch;
      assert.equal(result.exitCode, 0, String(result.stderr));
      const phases = String(result.stdout)
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/)[2]);
      assert.deepEqual(phases, [
        'Pending',
        'CreatingClonedPVC',
        'ClonedPVCReady',
        'CreatingPod',
        'CleaningUp',
        'Completed',
      ]);
    });

    it('--wait exits 0 when the DataMover completes', async () => {
      const run = dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3', '--wait', '--timeout', '60s']);
      await sleep(1500);
      const { clone } = await makeCloneAndJob(ns.name, 'data', 's3', ['all good']);
      for (const phase of ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed']) {
        await setPhase(ns.name, 'once', phase, clone);
        await sleep(300);
      }
      const result = await run;
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /Completed: done in/);
    });

    it("--wait exits 1 on Failed and prints the Job pod's last log lines", async () => {
      const run = dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3', '--wait', '--timeout', '60s']);
      await sleep(1500);
      const { clone } = await makeCloneAndJob(ns.name, 'data', 's3', [
        'Transferred: 0 B',
        'ERROR : Failed to copy: SignatureDoesNotMatch',
      ]);
      await setPhase(ns.name, 'once', 'CreatingPod', clone);
      await sleep(500);
      await setPhase(ns.name, 'once', 'Failed', clone);
      const result = await run;
      assert.equal(result.exitCode, 1);
      assert.match(String(result.stderr), /SignatureDoesNotMatch/);
      assert.match(String(result.stderr), /error: DataMover "once" failed/);
    });

    it("logs prints the Job pod's log", async () => {
      assert.equal((await dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      const { clone } = await makeCloneAndJob(ns.name, 'data', 's3', ['line one', 'Transferred: 42 files']);
      await setPhase(ns.name, 'once', 'CreatingPod', clone);
      const result = await dm(ns.name, ['logs', 'once']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stdout), /line one\nTransferred: 42 files/);
    });

    it('delete removes the DataMover', async () => {
      assert.equal((await dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3'])).exitCode, 0);
      assert.equal((await dm(ns.name, ['delete', 'once'])).exitCode, 0);
      assert.equal(await objectsIn(ns.name), '');
    });
  });

  describe('without the operator', () => {
    const crds = join(REPO_ROOT, 'tests', 'testbed', 'manifests', 'datamover-crds.yaml');
    beforeEach(async () => {
      await kubectl(['delete', '-f', crds, '--wait=true']);
    });
    afterEach(async () => {
      await kubectl(['apply', '-f', crds]);
      await kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/datamovers.datamover.a-cup-of.coffee',
        'crd/datamoverschedules.datamover.a-cup-of.coffee',
      ]);
    });

    it('--mode operator says the operator is not installed and points to local mode', async () => {
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--mode', 'operator']);
      assert.equal(result.exitCode, 1);
      assert.match(
        String(result.stderr),
        /^error: the DataMover operator is not installed in this cluster .*; .*local mode/m,
      );
    });

    it('create falls back to local mode, says so, and backs up', async () => {
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--rclone', bed().rcloneNew]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /operator is not installed .*using local mode/);
      assert.match(String(result.stdout), /Backed up PVC/);
    });
  });
});

async function createBoundPvcPending(namespace: string): Promise<void> {
  await kubectl(['apply', '-n', namespace, '-f', '-'], {
    input: [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata: {name: pending}',
      `spec: {accessModes: [ReadWriteOnce], storageClassName: ${bed().storageClasses.pending},` +
        ' resources: {requests: {storage: 1Gi}}}',
      '',
    ].join('\n'),
  });
}
