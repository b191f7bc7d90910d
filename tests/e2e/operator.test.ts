// Operator mode on the bed: create writes exactly the objects the operator's
// API takes, preflight refuses bad input before writing, and status and --wait
// read what is there. Here the real operator does not act (its writes are refused
// outside the namespaces labelled for it): what it does, and how status, --watch,
// --wait and logs follow it, is in operator-real.test.ts; without its CRDs, in
// tests/faults/operator-uninstalled.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { bed, createBoundPvc, datamover, eventually, kubectl, useNamespace } from './support/bed.ts';
import { createStorageSecret } from './support/storage.ts';
import { join } from 'node:path';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
const objectsIn = async (namespace: string) =>
  String((await kubectl(['get', 'datamovers,datamoverschedules', '-n', namespace, '-o', 'name'])).stdout).trim();

describe('operator mode', () => {
  const ns = useNamespace('op');
  beforeEach(async () => {
    await createBoundPvc(ns.name, 'data');
    // A bucket of this test's own (none yet): create's look at the bucket finds it empty.
    await createStorageSecret(ns.name, 's3', { BUCKET_NAME: ns.name });
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
        'a Secret without BUCKET_NAME',
        ['create', 'x', '--pvc', 'data', '--secret', 'partial'],
        /Secret "partial" is missing key BUCKET_NAME; add it to the Secret, or give it with --env or --env-from-/,
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
        'a ConfigMap that does not exist',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--env-from-configmap', 'A=nocm:key'],
        /configmap "nocm" in namespace "[^"]+" not found/,
        1,
      ],
      [
        'a ConfigMap key that does not exist',
        ['create', 'x', '--pvc', 'data', '--secret', 's3', '--env-from-configmap', 'A=tuning:nokey'],
        /^error: ConfigMap "tuning" has no key "nokey" \(for A\); add the key, or fix --env-from-configmap A=tuning:/,
        1,
      ],
    ];
    for (const [what, args, message, code] of refusals) {
      it(`refuses ${what} in one line, exit ${code}, writing nothing`, async () => {
        await createStorageSecret(ns.name, 'partial', { BUCKET_NAME: undefined });
        await kubectl(['create', 'configmap', 'tuning', '-n', ns.name, '--from-literal=transfers=8']);
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
      const suspended = ['get', 'datamoverschedule', 'nightly', '-n', ns.name, '-o', 'jsonpath={.spec.suspend}'];
      assert.equal(String((await kubectl(suspended)).stdout), 'false');
      assert.match(
        String((await dm(ns.name, ['status'])).stdout),
        /nightly\s+data\s+0 2 \* \* \*\s+false\s+<never>\s+\d{4}-\d{2}-\d{2}T02:00:00Z\s+0/,
      );
      const runNow = await dm(ns.name, ['run-now', 'nightly']);
      assert.equal(runNow.exitCode, 0, String(runNow.stderr));
      const made = /^datamover\.datamover\.a-cup-of\.coffee\/(nightly-\d{10}) created/.exec(String(runNow.stdout));
      assert.ok(made, String(runNow.stdout));
      const spec = ['get', 'datamover', made[1]!, '-n', ns.name, '-o', 'jsonpath={.spec.sourcePvc}/{.spec.secretName}'];
      assert.equal(String((await kubectl(spec)).stdout), 'data/s3');
      assert.match(
        String((await dm(ns.name, ['status'])).stdout),
        new RegExp(`^${made[1]}\\s+data\\s+Pending\\s`, 'm'),
      );
      assert.match(out, /NEXT RUN is the next tick of the schedule in UTC: .* within a second of it/);
    });

    it('--wait gives up after --timeout, naming the phase it was in', async () => {
      const args = ['create', 'once', '--pvc', 'data', '--secret', 's3', '--wait', '--timeout', '2s'];
      const result = await dm(ns.name, args);
      assert.equal(result.exitCode, 1, String(result.stderr));
      assert.match(
        String(result.stderr),
        /^error: DataMover "once" did not finish within 2s \(phase none yet\); check it with kubectl datamover status/m,
      );
      assert.equal(await objectsIn(ns.name), 'datamover.datamover.a-cup-of.coffee/once');
    });
  });

  describe('run-now', () => {
    it("makes the DataMover as the operator's schedule does: its labels, name and controller reference", async () => {
      assert.equal(
        (await dm(ns.name, ['create', 'nightly', '--pvc', 'data', '--secret', 's3', '--schedule', '0 2 * * *']))
          .exitCode,
        0,
      );
      const uid = String(
        (await kubectl(['get', 'datamoverschedule', 'nightly', '-n', ns.name, '-o', 'jsonpath={.metadata.uid}']))
          .stdout,
      );
      const before = Math.floor(Date.now() / 1000);
      const result = await dm(ns.name, ['run-now', 'nightly']);
      const after = Math.ceil(Date.now() / 1000);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const movers = JSON.parse(
        String(
          (await kubectl(['get', 'datamovers', '-n', ns.name, '-l', 'datamoverschedule=nightly', '-o', 'json'])).stdout,
        ),
      ).items;
      assert.equal(movers.length, 1);
      const { metadata, spec } = movers[0];
      const unix = Number(metadata.labels['datamoverschedule-schedule']);
      assert.ok(unix >= before && unix <= after, `${unix} is not within the run-now (${before}-${after})`);
      assert.equal(metadata.name, `nightly-${unix}`);
      assert.deepEqual(metadata.ownerReferences, [
        {
          apiVersion: 'datamover.a-cup-of.coffee/v1alpha1',
          kind: 'DataMoverSchedule',
          name: 'nightly',
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      assert.equal(spec.sourcePvc, 'data');
      assert.equal(spec.secretName, 's3');
      // The garbage collector deletes it with its schedule.
      assert.equal((await dm(ns.name, ['delete', 'nightly', '--schedule'])).exitCode, 0);
      await eventually(async () => assert.equal(await objectsIn(ns.name), ''), 30_000);
    });
  });

  describe('flags the operator cannot honour', () => {
    it('maps --insecure-skip-tls-verify to RCLONE_NO_CHECK_CERTIFICATE in additionalEnv', async () => {
      const result = await dm(ns.name, [
        'create',
        'x',
        '--pvc',
        'data',
        '--secret',
        's3',
        '--insecure-skip-tls-verify',
        '--dry-run=client',
        '-o',
        'json',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(JSON.parse(String(result.stdout)).spec.additionalEnv, [
        { name: 'RCLONE_NO_CHECK_CERTIFICATE', value: 'true' },
      ]);
    });

    it('refuses local-mode flags when operator mode is detected, in one line, exit 2, writing nothing', async () => {
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--encrypt', '--no-clone']);
      assert.equal(result.exitCode, 2, String(result.stderr));
      assert.equal(
        String(result.stderr).trim(),
        'error: --encrypt and --no-clone are local-mode flags the operator cannot honour ' +
          "(the operator's Job syncs unencrypted (it has no crypt remote), the operator always backs up a clone); " +
          'drop them, or use --mode local',
      );
      assert.equal(await objectsIn(ns.name), '');
    });
  });

  describe('the storage settings', () => {
    it("takes BUCKET_* from ConfigMaps and --env, as the operator's own example does", async () => {
      await createStorageSecret(ns.name, 'keys-only', {
        BUCKET_HOST: undefined,
        BUCKET_NAME: undefined,
        BUCKET_PORT: undefined,
        TLS_HOST: undefined,
      });
      await kubectl([
        'create',
        'configmap',
        'bucket',
        '-n',
        ns.name,
        '--from-literal=BUCKET_HOST=127.0.0.1',
        `--from-literal=BUCKET_PORT=${bed().s3.port}`,
        `--from-literal=BUCKET_NAME=${ns.name}`,
      ]);
      const base = ['create', 'x', '--pvc', 'data', '--secret', 'keys-only', '--timestamp-prefix'];
      const missing = await dm(ns.name, [...base, '--env-from-configmap', 'BUCKET_HOST=bucket:BUCKET_HOST']);
      assert.equal(missing.exitCode, 1);
      assert.match(
        String(missing.stderr),
        /^error: Secret "keys-only" is missing key BUCKET_NAME; add it to the Secret, or give it with --env or/,
      );
      const wrongTls = await dm(ns.name, [
        ...base,
        '--env-from-configmap',
        'BUCKET_NAME=bucket:BUCKET_NAME',
        '--env-from-configmap',
        'BUCKET_HOST=bucket:BUCKET_HOST',
        '--env',
        'TLS_HOST=False',
      ]);
      assert.equal(wrongTls.exitCode, 1);
      assert.match(String(wrongTls.stderr), /^error: --env TLS_HOST has a TLS_HOST that is neither "true" nor "false"/);
      const result = await dm(ns.name, [
        ...base,
        '--env-from-configmap',
        'BUCKET_HOST=bucket:BUCKET_HOST',
        '--env-from-configmap',
        'BUCKET_PORT=bucket:BUCKET_PORT',
        '--env-from-configmap',
        'BUCKET_NAME=bucket:BUCKET_NAME',
        '--env',
        'TLS_HOST=false',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.equal(await objectsIn(ns.name), 'datamover.datamover.a-cup-of.coffee/x');
    });
  });

  describe('without --timestamp-prefix', () => {
    it('refuses to sync over a bucket with objects, naming them, unless --force', async () => {
      const bucket = join(bed().s3.dataDir, ns.name);
      mkdirSync(join(bucket, '2026-01-01-000000'), { recursive: true });
      mkdirSync(join(bucket, '2026-01-02-000000'), { recursive: true });
      writeFileSync(join(bucket, '2026-01-01-000000', 'a.txt'), 'a\n');
      writeFileSync(join(bucket, '2026-01-02-000000', 'a.txt'), 'a\n');
      writeFileSync(join(bucket, 'top.txt'), 'top\n');
      const refused = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3']);
      assert.equal(refused.exitCode, 1, String(refused.stderr));
      assert.equal(
        String(refused.stderr).trim(),
        `error: s3://${ns.name} holds 3 objects (2 timestamp folders among them) that this DataMover would delete ` +
          `or overwrite: without --timestamp-prefix it runs "rclone sync /data/ s3://${ns.name}/"; ` +
          'pass --timestamp-prefix to write into a new YYYY-MM-DD-HHMMSS/ folder, or --force to sync over them',
      );
      assert.equal(await objectsIn(ns.name), '');
      const forced = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--force']);
      assert.equal(forced.exitCode, 0, String(forced.stderr));
      const prefixed = await dm(ns.name, ['create', 'y', '--pvc', 'data', '--secret', 's3', '--timestamp-prefix']);
      assert.equal(prefixed.exitCode, 0, String(prefixed.stderr));
      assert.equal(
        await objectsIn(ns.name),
        'datamover.datamover.a-cup-of.coffee/x\ndatamover.datamover.a-cup-of.coffee/y',
      );
    });

    it('warns and goes on when the bucket cannot be reached from here', async () => {
      await createStorageSecret(ns.name, 'far', { BUCKET_PORT: '1' });
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 'far']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(
        String(result.stderr),
        /^warning: cannot look at s3:\/\/\S+ from here \(.*\): without --timestamp-prefix/m,
      );
      assert.equal(await objectsIn(ns.name), 'datamover.datamover.a-cup-of.coffee/x');
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
