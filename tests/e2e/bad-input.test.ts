// Bad input, one test each: every case must end in one `error: what; fix`
// line, a non-zero exit code, nothing created in the cluster and nothing
// changed at the destination.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bed, createBoundPvc, datamover, kubectl, useNamespace } from './support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from './support/storage.ts';
import { kubeconfigVariant, serviceAccountKubeconfig } from './support/kubeconfig.ts';
import { freePort } from '../testbed/processes.ts';

interface Case {
  what: string;
  args: string[];
  /** Overrides of the Secret "s3" (undefined removes a key). */
  secret?: Record<string, string | undefined>;
  /** Extra setup; may return environment for the plugin. */
  setup?: (namespace: string) => Promise<Record<string, string> | undefined>;
  error: RegExp;
  exitCode?: number;
}

const backup = (...extra: string[]) => ['backup', 'data', '--secret', 's3', ...extra];
const create = (...extra: string[]) => ['create', 'x', '--pvc', 'data', '--secret', 's3', ...extra];

const CASES: Case[] = [
  // The Secret
  {
    what: 'a Secret without AWS_ACCESS_KEY_ID',
    args: backup(),
    secret: { AWS_ACCESS_KEY_ID: undefined },
    error: /Secret "s3" is missing key AWS_ACCESS_KEY_ID; add it/,
  },
  {
    what: 'a Secret with an empty AWS_SECRET_ACCESS_KEY',
    args: backup(),
    secret: { AWS_SECRET_ACCESS_KEY: '' },
    error: /AWS_SECRET_ACCESS_KEY/,
  },
  {
    what: 'a Secret with wrong key names',
    args: backup(),
    secret: { AWS_ACCESS_KEY_ID: undefined, ACCESS_KEY: 'x' },
    error: /missing key AWS_ACCESS_KEY_ID/,
  },
  {
    what: "a TLS_HOST that is not lower-case true or false, as the operator's Job refuses it",
    args: backup(),
    secret: { TLS_HOST: 'True' },
    error: /Secret "s3" has a TLS_HOST that is neither "true" nor "false" \(lower case\)/,
  },
  {
    what: 'a Secret value with a trailing newline',
    args: backup(),
    secret: { BUCKET_NAME: 'datamover-test\n' },
    error: /Secret "s3" has a BUCKET_NAME with leading or trailing whitespace/,
  },
  { what: 'a non-numeric BUCKET_PORT', args: backup(), secret: { BUCKET_PORT: 'http' }, error: /BUCKET_PORT/ },
  { what: 'an out-of-range BUCKET_PORT', args: backup(), secret: { BUCKET_PORT: '70000' }, error: /BUCKET_PORT/ },
  {
    what: 'a BUCKET_HOST with a scheme',
    args: backup(),
    secret: { BUCKET_HOST: 'http://127.0.0.1' },
    error: /BUCKET_HOST.*(scheme|http)/,
  },
  { what: 'a BUCKET_HOST with a path', args: backup(), secret: { BUCKET_HOST: '127.0.0.1/s3' }, error: /BUCKET_HOST/ },
  {
    what: 'a bucket name S3 does not allow',
    args: backup(),
    secret: { BUCKET_NAME: 'Bad_Bucket' },
    error: /BUCKET_NAME/,
  },
  {
    what: 'a Secret that does not exist',
    args: ['backup', 'data', '--secret', 'nope'],
    error: /secrets? "nope".* not found/,
  },
  // The storage
  {
    what: 'a wrong access key',
    args: backup(),
    secret: { AWS_ACCESS_KEY_ID: 'AKWRONGWRONGWRONG' },
    error: /rejected the access key; check AWS_ACCESS_KEY_ID/,
  },
  {
    what: 'a wrong secret key',
    args: backup(),
    secret: { AWS_SECRET_ACCESS_KEY: 'wrong-wrong-wrong' },
    error: /SignatureDoesNotMatch\); check AWS_SECRET_ACCESS_KEY/,
  },
  {
    what: 'an endpoint nothing listens on',
    args: backup(),
    secret: { BUCKET_PORT: '1' },
    error: /refused the connection; check BUCKET_HOST and BUCKET_PORT/,
  },
  {
    what: 'TLS to a plain endpoint',
    args: backup(),
    secret: { TLS_HOST: 'true' },
    error: /plain HTTP but TLS_HOST is true; set TLS_HOST to false/,
  },
  {
    what: 'plain HTTP to a TLS endpoint',
    args: backup(),
    secret: { TLS_HOST: 'false', BUCKET_PORT: 'TLS' },
    error: /TLS_HOST to true/,
  },
  {
    what: 'a self-signed certificate without --ca-file',
    args: backup(),
    secret: { TLS_HOST: 'true', BUCKET_PORT: 'TLS' },
    error: /TLS certificate is not trusted; pass --ca-file/,
  },
  {
    what: 'a --ca-file that does not exist',
    args: backup('--ca-file', '/nonexistent/ca.pem'),
    error: /--ca-file "\/nonexistent\/ca\.pem" does not exist/,
    exitCode: 2,
  },
  // Flags
  {
    what: 'an invalid --env name',
    args: backup('--env', '1BAD=x'),
    error: /--env "1BAD" is not a valid environment variable name/,
    exitCode: 2,
  },
  {
    what: '--env overriding a credential',
    args: backup('--env', 'AWS_SECRET_ACCESS_KEY=x'),
    error: /--env AWS_SECRET_ACCESS_KEY would override the storage settings from the Secret/,
    exitCode: 2,
  },
  {
    what: '--env overriding the rclone remote',
    args: backup('--env', 'RCLONE_CONFIG_DATAMOVER_ENDPOINT=http://elsewhere'),
    error: /would override the storage settings/,
    exitCode: 2,
  },
  {
    what: 'a cron with six fields',
    args: create('--schedule', '0 0 * * * *'),
    error: /has 6 fields, cron needs 5/,
    exitCode: 2,
  },
  {
    what: 'a cron minute out of range',
    args: create('--schedule', '60 * * * *'),
    error: /the minute field "60" is out of range/,
    exitCode: 2,
  },
  {
    what: "a cron minute with a leading zero, which the operator's CRD refuses",
    args: create('--schedule', '05 * * * *'),
    error: /the minute field "05" has a leading zero, which the operator's CRD refuses; write "5"/,
    exitCode: 2,
  },
  {
    what: "a cron step with a leading zero, which the operator's CRD refuses",
    args: create('--schedule', '*/05 * * * *'),
    error: /the minute field "\*\/05" has a leading zero/,
    exitCode: 2,
  },
  {
    what: "a cron range, which the operator's CRD refuses",
    args: create('--schedule', '0 9-17 * * *'),
    error: /the hour field "9-17" is a range or a list, which the operator's CRD refuses/,
    exitCode: 2,
  },
  {
    what: 'a cron day-of-week 7',
    args: create('--schedule', '0 3 * * 7'),
    error: /the day-of-week field "7" is out of range \(0-6\): the operator does not take 7 for Sunday; write 0/,
    exitCode: 2,
  },
  {
    what: "a cron step of 0, which the operator's cron library cannot parse",
    args: create('--schedule', '*/0 * * * *'),
    error: /the minute field "\*\/0" has a step of 0/,
    exitCode: 2,
  },
  {
    what: 'a schedule name too long for the names derived from it',
    args: create('--schedule', '0 2 * * *').map((a) => (a === 'x' ? 's'.repeat(60) : a)),
    error: /is not a valid name \(longer than 52 characters\)/,
    exitCode: 2,
  },
  {
    what: "a PVC name too long for the operator's Job name",
    args: ['create', 'x', '--pvc', 'p'.repeat(40), '--secret', 's3', '--mode', 'operator'],
    setup: async (namespace) => {
      await createBoundPvc(namespace, 'p'.repeat(40));
    },
    error: new RegExp(
      /PVC name "p{40}" is too long for the operator: its Job name would have 65 characters \(at most 63\); /.source +
        /use --mode local, or a PVC whose name has at most 38 characters/.source,
    ),
  },
  {
    what: 'a name longer than DNS-1123 allows',
    args: ['create', 'x'.repeat(254), '--pvc', 'data', '--secret', 's3'],
    error: /is not a valid name \(longer than 253 characters\)/,
    exitCode: 2,
  },
  { what: 'a malformed --staging-cap', args: backup('--staging-cap', 'lots'), error: /--staging-cap/, exitCode: 2 },
  { what: 'a malformed --timeout', args: backup('--timeout', 'soon'), error: /--timeout/, exitCode: 2 },
  {
    what: 'an unknown --profile',
    args: backup('--profile', 'fast'),
    error: /profile, Given: "fast", Choices: "high-bandwidth"/,
    exitCode: 2,
  },
  // The PVC
  {
    what: 'a PVC in another namespace',
    args: ['backup', 'elsewhere', '--secret', 's3'],
    setup: async () => {
      await kubectl(['create', 'namespace', 'bad-input-other'], { reject: false });
    },
    error: /persistentvolumeclaim "elsewhere" in namespace "[^"]+" not found/,
  },
  {
    what: 'a PVC that is not Bound',
    args: ['backup', 'pending', '--secret', 's3'],
    setup: async (namespace) => {
      await kubectl(['apply', '-f', '-'], {
        input: [
          'apiVersion: v1',
          'kind: PersistentVolumeClaim',
          `metadata: {name: pending, namespace: ${namespace}}`,
          `spec: {accessModes: [ReadWriteOnce], storageClassName: ${bed().storageClasses.pending},` +
            ' resources: {requests: {storage: 1Gi}}}',
          '',
        ].join('\n'),
      });
    },
    error: /PVC "pending" in namespace "[^"]+" is Pending, not Bound; wait until it is Bound/,
  },
  {
    what: 'an unknown --from backup',
    args: ['restore', '--secret', 's3', '--from', '2020-01-01-000000', '--to-pvc', 'data'],
    error: /there is no backup "2020-01-01-000000"/,
  },
  {
    what: 'a restore into a non-empty PVC',
    args: ['restore', '--secret', 's3', '--from', 'plain', '--to-pvc', 'data'],
    setup: async () => {
      await seedPlainBackup();
      return undefined;
    },
    error: /PVC "data" is not empty; .*--overwrite/,
  },
  {
    what: 'an operator-mode Secret key starting with "-", which the operator\'s rclone would read as a flag',
    args: create('--timestamp-prefix'),
    secret: { AWS_SECRET_ACCESS_KEY: '-8DlRfmgwUtKT1slL5jzQvznjc0aBcDeFgHiJkLmN' },
    error: /AWS_SECRET_ACCESS_KEY from Secret "s3" starts with "-": .*"rclone config create"/,
  },
  // Usage errors are found before any call: with the API server down, they still exit 2 and name the flag.
  {
    what: 'restore --create without --size, before any call',
    args: ['restore', '--secret', 's3', '--to-pvc', 'new', '--create'],
    setup: apiServerDown,
    error: /--create needs --size/,
    exitCode: 2,
  },
  {
    what: 'verify --against-pvc with bad --requests, before any call',
    args: ['verify', '--secret', 's3', '--against-pvc', 'data', '--requests', 'cpu=lots'],
    setup: apiServerDown,
    error: /--requests cpu="lots" is not a Kubernetes quantity/,
    exitCode: 2,
  },
  {
    what: 'create --mode local with a malformed --remote, before any call',
    args: ['create', 'x', '--pvc', 'data', '--mode', 'local', '--remote', 'no-colon'],
    setup: apiServerDown,
    error: /--remote "no-colon" is not an rclone remote path/,
    exitCode: 2,
  },
  {
    what: 'create --mode operator with local-mode flags, before any call',
    args: create('--mode', 'operator', '--ca-file', '/nonexistent/ca.pem', '--staging-dir', '/tmp'),
    setup: apiServerDown,
    error: new RegExp(
      /--ca-file and --staging-dir are local-mode flags the operator cannot honour \(.*\); /.source +
        /drop them, or use --mode local/.source,
    ),
    exitCode: 2,
  },
  {
    what: 'create --mode operator with --metrics-file, before any call',
    args: create('--mode', 'operator', '--metrics-file', '/tmp/x.prom'),
    setup: apiServerDown,
    error: /--metrics-file is a local-mode flag the operator cannot honour/,
    exitCode: 2,
  },
  {
    what: 'create --mode local with --force, before any call',
    args: ['create', 'x', '--pvc', 'data', '--mode', 'local', '--remote', 'r:bucket', '--force'],
    setup: apiServerDown,
    error: /--force applies to operator mode only/,
    exitCode: 2,
  },
  {
    what: 'delete --schedule --delete-clone, before any call',
    args: ['delete', 'x', '--schedule', '--delete-clone'],
    setup: apiServerDown,
    error: /--delete-clone applies to a DataMover/,
    exitCode: 2,
  },
  {
    what: 'a backup with a bad --staging-cap, before any call',
    args: backup('--staging-cap', 'huge'),
    setup: apiServerDown,
    error: /--staging-cap/,
    exitCode: 2,
  },
  // kubeconfig, context, server, RBAC
  {
    what: 'a kubeconfig that does not exist',
    args: backup(),
    setup: async () => ({ KUBECONFIG: '/nonexistent/kubeconfig' }),
    error: /kubeconfig/,
  },
  {
    what: 'a kubeconfig that cannot be read',
    args: backup(),
    setup: async () => ({ KUBECONFIG: tmpdir() }),
    error: /kubeconfig/,
  },
  {
    what: 'a kubeconfig with no current context',
    args: backup(),
    setup: async () => ({
      KUBECONFIG: kubeconfigVariant((c) => {
        c['current-context'] = '';
      }),
    }),
    error: /context/,
  },
  { what: 'a --context that does not exist', args: backup('--context', 'nowhere'), error: /context "nowhere"/ },
  {
    what: 'an API server that is down',
    args: backup(),
    setup: apiServerDown,
    error: /cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
  },
  {
    what: 'a user without the RBAC it needs',
    args: backup(),
    setup: async (namespace) => ({ KUBECONFIG: await serviceAccountKubeconfig(namespace, 'nobody') }),
    error: /(forbidden|may not|cannot|permission)/i,
  },
  // rclone
  {
    what: 'no rclone',
    args: backup('--rclone', '/nonexistent/rclone'),
    error: /rclone was not found \(\/nonexistent\/rclone\); install rclone >= 1\.60/,
  },
  {
    what: 'an rclone older than 1.60',
    args: backup('--rclone', process.env.DATAMOVER_RCLONE_OLD ?? '/nonexistent'),
    error: /rclone 1\.53\.\d+ is too old \(1\.60 or newer is needed\)/,
  },
];

/** An object at the plain target, so that restore has a backup to refuse to write. */
/** A kubeconfig whose API server does not answer: any call would fail with "cannot reach". */
async function apiServerDown(): Promise<Record<string, string>> {
  const port = await freePort();
  return {
    KUBECONFIG: kubeconfigVariant((c) => {
      c.clusters[0]!.cluster.server = `https://127.0.0.1:${port}`;
    }),
  };
}

async function seedPlainBackup(): Promise<void> {
  writeFileSync(bucketPath('existing.txt'), 'already here\n');
}

describe('bad input', () => {
  const ns = useNamespace('bad');
  beforeEach(async () => {
    emptyBucket();
    const source = await createBoundPvc(ns.name, 'data');
    writeFileSync(join(source, 'file.txt'), 'data\n');
  });
  after(async () => {
    await kubectl(['delete', 'namespace', 'bad-input-other', '--wait=false'], { reject: false });
  });

  for (const c of CASES) {
    it(`refuses ${c.what}: one line, exit ${c.exitCode ?? 1}, nothing created or changed`, async () => {
      const s3 = bed().s3;
      const secret = { ...c.secret };
      if (secret.BUCKET_PORT === 'TLS') secret.BUCKET_PORT = String(s3.tlsPort);
      await createStorageSecret(ns.name, 's3', secret);
      const env = (await c.setup?.(ns.name)) ?? {};
      const objectsBefore = await clusterObjects(ns.name);
      const bucketBefore = objectsIn(bucketPath());

      const result = await datamover([...c.args, '-n', ns.name], { env });

      assert.equal(result.exitCode, c.exitCode ?? 1, String(result.stderr));
      const errors = String(result.stderr)
        .split('\n')
        .filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, String(result.stderr));
      assert.match(errors[0]!, /^error: .+; .+/);
      assert.match(errors[0]!, c.error);
      assert.deepEqual(await clusterObjects(ns.name), objectsBefore);
      assert.deepEqual(objectsIn(bucketPath()), bucketBefore);
    });
  }
});

/** Everything a run could create in the namespace. */
async function clusterObjects(namespace: string): Promise<string[]> {
  const names = String(
    (await kubectl(['get', 'pvc,pods,secrets,configmaps,jobs', '-n', namespace, '-o', 'name'])).stdout,
  );
  return names.split('\n').filter(Boolean).sort();
}

describe('-v=6 and --request-timeout', () => {
  const ns = useNamespace('verbose');

  it('-v=6 prints the stack trace below the one error line; without it, only the line', async () => {
    const args = ['backup', 'nope', '--secret', 's3', '-n', ns.name];
    const quiet = await datamover(args);
    const traced = await datamover([...args, '-v=6']);
    for (const result of [quiet, traced]) assert.equal(result.exitCode, 1, String(result.stderr));
    const line = `error: persistentvolumeclaim "nope" in namespace "${ns.name}" not found`;
    const errorLines = (stderr: unknown) =>
      String(stderr)
        .split('\n')
        .filter((l) => l.startsWith('error:'));
    for (const result of [quiet, traced]) assert.match(errorLines(result.stderr).join('\n'), new RegExp(`^${line}; `));
    assert.doesNotMatch(String(quiet.stderr), /^ {4}at /m);
    assert.match(String(traced.stderr), /^UserError: .*\n {4}at .*\(.*\/lib\/.*\.ts:\d+:\d+\)$/m);
  });

  it('--request-timeout bounds a request to an API server that never answers', async () => {
    // An API server that accepts connections and never answers.
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const KUBECONFIG = kubeconfigVariant((c) => {
        c.clusters[0]!.cluster.server = `https://127.0.0.1:${port}`;
      });
      const started = Date.now();
      const result = await datamover(['status', '-n', ns.name, '--request-timeout', '1s'], { env: { KUBECONFIG } });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(result.exitCode, 1, String(result.stderr));
      assert.match(
        String(result.stderr),
        /^error: cannot reach the Kubernetes API server at \S+ \(request timed out \(--request-timeout\)\); /m,
      );
      assert.ok(sockets.size > 0, 'the plugin never connected');
      // The requests are cut at 1 s, and the process ends with its error (no socket holds it open).
      assert.ok(seconds < 10, `took ${seconds}s`);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
