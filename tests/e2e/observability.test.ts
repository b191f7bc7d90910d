// Metrics, `check`, known-error guidance and helper pod resources, on the bed:
// metrics are read back with Prometheus' own parser (prom2json) from the file
// and from a real Pushgateway; storage errors are caused for real (wrong keys,
// a stopped endpoint, a read-only server, a missing bucket, a full disk).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { bed, createBoundPvc, datamover, kubectl, managedLeftovers, useNamespace, userEnv } from './support/bed.ts';
import { writeMixedTree, snapshot } from './support/tree.ts';
import {
  bucketPath,
  createStorageSecret,
  emptyBucket,
  expectedObjects,
  objectsIn,
  testBucket,
} from './support/storage.ts';
import { freePort } from '../testbed/processes.ts';
import { toolPaths } from '../testbed/paths.ts';

interface MetricFamily {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value: string }>;
}

/** Parses Prometheus text (a file or a URL) with prom2json, Prometheus' own parser. */
async function parseMetrics(source: string): Promise<MetricFamily[]> {
  return JSON.parse(String((await execa(toolPaths().prom2json, [source])).stdout)) as MetricFamily[];
}

function sampleValue(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample === undefined ? undefined : Number(sample.value);
}

const fileBytes = (root: string) =>
  Object.values(snapshot(root)).reduce((sum, e) => sum + (e.type === 'file' ? e.size! : 0), 0);

describe('metrics of local-mode runs', () => {
  const ns = useNamespace('metrics');
  let source: string;
  let dir: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
    dir = mkdtempSync(join(tmpdir(), 'datamover-metrics-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a textfile-collector file that Prometheus parses, with the run's numbers", async () => {
    writeMixedTree(source, { bigFileBytes: 512 * 1024 });
    const file = join(dir, 'datamover.prom');
    const result = await datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--metrics-file',
      file,
      '-o',
      'json',
    ]);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const summary = JSON.parse(String(result.stdout));
    const families = await parseMetrics(file);
    const labels = { namespace: ns.name, pvc: 'data', mode: 'local' };
    assert.equal(sampleValue(families, 'datamover_data_sync_operations_total', { ...labels, status: 'success' }), 1);
    assert.equal(sampleValue(families, 'datamover_data_sync_operations_total', { ...labels, status: 'failure' }), 0);
    assert.equal(sampleValue(families, 'datamover_bytes_transferred_total', labels), fileBytes(source));
    assert.equal(sampleValue(families, 'datamover_files_transferred_total', labels), summary.filesSent);
    for (const phase of ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'Transferring', 'CleaningUp']) {
      const seconds = sampleValue(families, 'datamover_phase_duration_seconds', { ...labels, phase });
      assert.ok(seconds !== undefined && seconds >= 0 && seconds < 120, `${phase}: ${seconds}`);
    }
    assert.ok(sampleValue(families, 'datamover_phase_duration_seconds', { phase: 'Transferring' })! > 0);
    const age = Date.now() / 1000 - sampleValue(families, 'datamover_last_run_timestamp_seconds', labels)!;
    assert.ok(age >= 0 && age < 60, `last run ${age}s ago`);
    // Written atomically: only the final file is in the folder.
    assert.deepEqual(readdirSync(dir), ['datamover.prom']);
  });

  it('records a failed run as a failure, with the phases it reached', async () => {
    await kubectl(['delete', 'pvc', 'data', '-n', ns.name]);
    await createBoundPvc(ns.name, 'data', { storageClass: bed().storageClasses.noClone });
    const file = join(dir, 'datamover.prom');
    const result = await datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--metrics-file',
      file,
      '--timeout',
      '20s',
    ]);
    assert.equal(result.exitCode, 1);
    const families = await parseMetrics(file);
    assert.equal(sampleValue(families, 'datamover_data_sync_operations_total', { status: 'failure' }), 1);
    assert.equal(sampleValue(families, 'datamover_data_sync_operations_total', { status: 'success' }), 0);
    assert.equal(sampleValue(families, 'datamover_bytes_transferred_total'), 0);
    assert.ok(sampleValue(families, 'datamover_phase_duration_seconds', { phase: 'CreatingClonedPVC' })! >= 0);
    assert.ok(sampleValue(families, 'datamover_phase_duration_seconds', { phase: 'CleaningUp' })! >= 0);
    assert.equal(sampleValue(families, 'datamover_phase_duration_seconds', { phase: 'Transferring' }), undefined);
  });

  it('pushes to a Pushgateway, grouped by namespace and PVC', async () => {
    writeMixedTree(source, { bigFileBytes: 64 * 1024 });
    const result = await datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--pushgateway',
      bed().pushgateway,
    ]);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const families = await parseMetrics(`${bed().pushgateway}/metrics`);
    const group = { job: 'datamover', namespace: ns.name, pvc: 'data' };
    assert.equal(sampleValue(families, 'datamover_data_sync_operations_total', { ...group, status: 'success' }), 1);
    assert.equal(sampleValue(families, 'datamover_bytes_transferred_total', group), fileBytes(source));
    assert.ok(sampleValue(families, 'datamover_phase_duration_seconds', { ...group, phase: 'Transferring' })! > 0);
  });

  it('warns, but keeps the backup, when the Pushgateway is down', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    const port = await freePort();
    const result = await datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--pushgateway',
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.match(
      String(result.stderr),
      new RegExp(`warning: could not push metrics to http://127.0.0.1:${port} \\(ECONNREFUSED\\); check --pushgateway`),
    );
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
  });

  it('refuses a --pushgateway that is not a URL before creating anything', async () => {
    const result = await datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--pushgateway',
      'pushgateway:9091/x',
    ]);
    assert.equal(result.exitCode, 2);
    assert.match(String(result.stderr), /^error: --pushgateway "pushgateway:9091\/x" is not an http\(s\) URL; /);
    assert.equal(await managedLeftovers(ns.name), '');
  });
});

describe('kubectl datamover check', () => {
  const ns = useNamespace('check');
  beforeEach(() => emptyBucket());
  const check = (args: string[]) => datamover(['check', '-n', ns.name, ...args]);
  const lines = (stdout: unknown) => String(stdout).trim().split('\n');

  it('reports every key and the bucket OK, leaving no test object behind', async () => {
    await createStorageSecret(ns.name);
    const result = await check(['--secret', 's3']);
    assert.equal(result.exitCode, 0, String(result.stdout));
    const out = lines(result.stdout);
    for (const key of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'BUCKET_HOST',
      'BUCKET_NAME',
      'BUCKET_PORT',
      'AWS_REGION',
      'TLS_HOST',
    ]) {
      assert.ok(
        out.some((l) => l.startsWith('OK    Secret s3: ') && l.includes(key)),
        key,
      );
    }
    assert.ok(out.some((l) => /^OK {4}list the bucket from this machine/.test(l)));
    assert.ok(out.some((l) => /^OK {4}write and delete a test object from this machine$/.test(l)));
    assert.ok(!String(result.stdout).includes(bed().s3.secretAccessKey));
    assert.deepEqual(readdirSync(bucketPath()), []);
  });

  it('names the missing keys, and exits 1', async () => {
    await createStorageSecret(ns.name, 's3', { BUCKET_NAME: undefined, AWS_SECRET_ACCESS_KEY: '' });
    const result = await check(['--secret', 's3']);
    assert.equal(result.exitCode, 1);
    const fails = lines(result.stdout).filter((l) => l.startsWith('FAIL'));
    assert.deepEqual(fails, [
      'FAIL  Secret s3: AWS_SECRET_ACCESS_KEY is missing or empty; add AWS_SECRET_ACCESS_KEY to the Secret',
      'FAIL  Secret s3: BUCKET_NAME is missing or empty; add BUCKET_NAME to the Secret',
    ]);
  });

  const storageErrors: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
    [
      'a wrong access key (InvalidAccessKeyId)',
      async () => ({ AWS_ACCESS_KEY_ID: 'AKNOTAKEY' }),
      /the storage rejected the access key; check AWS_ACCESS_KEY_ID/,
    ],
    [
      'a wrong secret key (SignatureDoesNotMatch)',
      async () => ({ AWS_SECRET_ACCESS_KEY: 'not-the-secret-key' }),
      /the storage rejected the secret key \(SignatureDoesNotMatch\); check AWS_SECRET_ACCESS_KEY/,
    ],
    [
      'a stopped endpoint (connection refused)',
      async () => ({ BUCKET_PORT: String(await freePort()) }),
      /the storage refused the connection; check BUCKET_HOST and BUCKET_PORT/,
    ],
    [
      'a bucket that does not exist (NoSuchBucket)',
      async () => ({ BUCKET_NAME: 'no-such-bucket' }),
      /the bucket does not exist \(NoSuchBucket\); .*--create-bucket/,
    ],
    [
      'TLS_HOST=true against a plain HTTP endpoint',
      async () => ({ TLS_HOST: 'true' }),
      /speaks plain HTTP but TLS_HOST is true; set TLS_HOST to false/,
    ],
  ];
  for (const [label, overrides, expected] of storageErrors) {
    it(`maps ${label} to one line with the fix`, async () => {
      await createStorageSecret(ns.name, 's3', await overrides());
      const result = await check(['--secret', 's3']);
      assert.equal(result.exitCode, 1);
      const fails = lines(result.stdout).filter((l) => l.startsWith('FAIL'));
      assert.equal(fails.length, 1, String(result.stdout));
      assert.match(fails[0]!, /^FAIL {2}list the bucket from this machine: /);
      assert.match(fails[0]!, expected);
    });
  }

  it('tells a read-only key (the list works, the write does not)', async () => {
    await createStorageSecret(ns.name, 's3', { BUCKET_PORT: new URL(bed().s3.readOnlyEndpoint).port });
    const result = await check(['--secret', 's3']);
    assert.equal(result.exitCode, 1);
    const out = lines(result.stdout);
    assert.ok(
      out.some((l) => l.startsWith('OK    list the bucket')),
      String(result.stdout),
    );
    assert.match(
      out.at(-1)!,
      new RegExp(
        /^FAIL {2}write and delete a test object from this machine: writing to .* failed: /.source +
          /the storage refused the request \(500 InternalError\); check that the key may write to the bucket/.source,
      ),
    );
  });

  it('creates a missing bucket with --create-bucket', async () => {
    const bucket = `created-${randomBytes(3).toString('hex')}`;
    await createStorageSecret(ns.name, 's3', { BUCKET_NAME: bucket });
    try {
      const result = await check(['--secret', 's3', '--create-bucket']);
      assert.equal(result.exitCode, 0, String(result.stdout));
      assert.match(String(result.stdout), new RegExp(`OK {4}create the bucket s3://${bucket}`));
      assert.ok(statSync(join(bed().s3.dataDir, bucket)).isDirectory());
    } finally {
      rmSync(join(bed().s3.dataDir, bucket), { recursive: true, force: true });
    }
  });

  it('--in-cluster checks from a pod that gets the keys from the Secret, and removes the pod', async () => {
    await createStorageSecret(ns.name);
    const result = await check(['--secret', 's3', '--in-cluster', '--image', 'rclone/rclone:1.76']);
    assert.equal(result.exitCode, 0, String(result.stdout));
    const fromPod = lines(result.stdout).filter((l) =>
      / from pod datamover-check-[0-9a-f]{6} \(rclone\/rclone:1\.76\)/.test(l),
    );
    assert.deepEqual(
      fromPod.map((l) => l.split(' from pod')[0]),
      [`OK    list s3://${testBucket()}`, 'OK    write a test object', 'OK    delete the test object'],
    );
    assert.equal(await managedLeftovers(ns.name), '');
    // The pod spec referred to the Secret; no credential was written into it.
    assert.deepEqual(readdirSync(bucketPath()), []);
  });

  it("--in-cluster reports the storage's error as seen from the pod", async () => {
    await createStorageSecret(ns.name, 's3', { AWS_SECRET_ACCESS_KEY: 'not-the-secret-key' });
    const result = await check(['--secret', 's3', '--in-cluster']);
    assert.equal(result.exitCode, 1);
    assert.match(
      String(result.stdout),
      new RegExp(
        `FAIL {2}list s3://${testBucket()} from pod datamover-check-\\w+ ` +
          /\(ghcr\.io\/qjoly\/datamover-rclone:latest\): the storage rejected the secret key /.source +
          /\(SignatureDoesNotMatch\); check AWS_SECRET_ACCESS_KEY/.source,
      ),
    );
    assert.equal(await managedLeftovers(ns.name), '');
  });
});

describe('known errors and resources during a backup', () => {
  const ns = useNamespace('known');
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  it('a staging folder with no space left fails with one line naming --staging-dir, and cleans up', async () => {
    writeMixedTree(source, { bigFileBytes: 4 * 1024 * 1024 });
    const staging = mkdtempSync(join(tmpdir(), 'datamover-tiny-'));
    try {
      // A 1 MiB tmpfs in a private mount namespace: the plugin runs inside it.
      const script = 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"';
      const result = await execa(
        'unshare',
        [
          '-rm',
          'sh',
          '-c',
          script,
          'sh',
          staging,
          'kubectl',
          'datamover',
          'backup',
          'data',
          '--secret',
          's3',
          '-n',
          ns.name,
          '--staging-dir',
          staging,
        ],
        {
          env: userEnv(),
          extendEnv: false,
          reject: false,
        },
      );
      assert.equal(result.exitCode, 1, String(result.stderr));
      const errors = String(result.stderr)
        .split('\n')
        .filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, String(result.stderr));
      assert.match(errors[0]!, /no space left on device.*--staging-dir/);
      assert.equal(await managedLeftovers(ns.name), '');
      // Nothing partial under a final name: the big file is whole or absent.
      if (existsSync(bucketPath('big.bin'))) assert.equal(statSync(bucketPath('big.bin')).size, 4 * 1024 * 1024);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });

  it('gives the helper pod the --requests and --limits asked for', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    for (let i = 0; i < 300; i++) writeFileSync(join(source, `small-${i}`), `${i}\n`);
    const running = datamover([
      'backup',
      'data',
      '--secret',
      's3',
      '-n',
      ns.name,
      '--requests',
      'cpu=300m,memory=600Mi',
      '--limits',
      'cpu=2,memory=2Gi',
    ]);
    let resources: unknown;
    for (let i = 0; i < 200 && resources === undefined; i++) {
      const pods = await kubectl(
        [
          'get',
          'pods',
          '-n',
          ns.name,
          '-l',
          'app.kubernetes.io/managed-by=kubectl-datamover',
          '-o',
          'jsonpath={.items[0].spec.containers[0].resources}',
        ],
        { reject: false },
      );
      if (String(pods.stdout).startsWith('{')) resources = JSON.parse(String(pods.stdout));
    }
    const result = await running;
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.deepEqual(resources, { requests: { cpu: '300m', memory: '600Mi' }, limits: { cpu: '2', memory: '2Gi' } });
  });

  it('refuses a malformed --requests before creating anything', async () => {
    const result = await datamover(['backup', 'data', '--secret', 's3', '-n', ns.name, '--requests', 'cpu=lots']);
    assert.equal(result.exitCode, 2);
    assert.match(String(result.stderr), /^error: --requests cpu="lots" is not a Kubernetes quantity; use e\.g\. 200m/);
    assert.equal(await managedLeftovers(ns.name), '');
  });
});
