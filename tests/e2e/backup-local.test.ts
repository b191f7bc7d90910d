// Local mode backup on the bed: real API server, real exec streams, real
// rclone (both Debian's 1.60 and the pinned one) into the real S3 server.
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  appendFileSync,
  unlinkSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import {
  bed,
  createBoundPvc,
  kubectl,
  managedLeftovers,
  podProcesses,
  processesUnder,
  useNamespace,
  userEnv,
  waitFor,
  watchRun,
} from './support/bed.ts';
import { writeMixedTree } from './support/tree.ts';
import { REPO_ROOT } from '../testbed/paths.ts';
import {
  bucketPath,
  createStorageSecret,
  emptyBucket,
  expectedObjects,
  objectsIn,
  pastTimestamp,
  testBucket,
} from './support/storage.ts';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}-\d{6}$/;

function backup(namespace: string, args: string[], env: Record<string, string> = {}) {
  return execa('kubectl', ['datamover', 'backup', ...args, '-n', namespace], {
    env: userEnv(env),
    extendEnv: false,
    reject: false,
  });
}

describe('kubectl datamover backup (local mode)', () => {
  const ns = useNamespace('backup');
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
  });

  for (const [label, rclone] of [
    ['Debian rclone 1.60', '/usr/bin/rclone'],
    ['the pinned rclone', ''],
  ] as const) {
    it(`with ${label}: the mixed tree arrives byte-identical and nothing is left in the cluster`, async () => {
      writeMixedTree(source);
      await createStorageSecret(ns.name);
      const result = await backup(ns.name, [
        'data',
        '--secret',
        's3',
        '-o',
        'json',
        '--rclone',
        rclone || bed().rcloneNew,
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const summary = JSON.parse(String(result.stdout));
      assert.equal(summary.checksums, 'verified');
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      assert.equal(await managedLeftovers(ns.name), '');
    });
  }

  it('runs its helper pod in a namespace that enforces Pod Security "restricted" (files nobody may read)', async () => {
    await kubectl(['label', 'namespace', ns.name, 'pod-security.kubernetes.io/enforce=restricted']);
    // The API server enforces it: a privileged pod is refused.
    const refused = await kubectl(['run', 'privileged', '-n', ns.name, '--image=busybox', '--privileged'], {
      reject: false,
    });
    assert.notEqual(refused.exitCode, 0);
    assert.match(String(refused.stderr), /violates PodSecurity "restricted/);
    writeMixedTree(source, { bigFileBytes: 1024 });
    // Restricted pods run as a non-root user, which reads only what others may read (the owners test
    // covers the rest); the tree's root-only key is made readable here.
    chmodSync(join(source, 'private.key'), 0o644);
    await createStorageSecret(ns.name);
    const result = await backup(ns.name, ['data', '--secret', 's3']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.match(String(result.stderr), /Start the helper pod: done .*\(uid 65534:65534\)/);
    assert.doesNotMatch(String(result.stderr), /can read every file/);
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
  });

  it('writes into a YYYY-MM-DD-HHMMSS folder with --timestamp-prefix, seeding the next one server-side', async () => {
    writeMixedTree(source, { bigFileBytes: 4 * 1024 * 1024 });
    await createStorageSecret(ns.name);
    const first = await backup(ns.name, ['data', '--secret', 's3', '--timestamp-prefix', '-o', 'json']);
    assert.equal(first.exitCode, 0, String(first.stderr));
    const [folder] = readdirSync(bucketPath());
    assert.match(folder!, TIMESTAMP);
    assert.deepEqual(objectsIn(bucketPath(folder!)), expectedObjects(source));

    await pastTimestamp(folder!); // a new second, so a new folder
    writeFileSync(join(source, 'empty-file'), 'not empty any more\n');
    const second = await backup(ns.name, ['data', '--secret', 's3', '--timestamp-prefix', '-o', 'json']);
    assert.equal(second.exitCode, 0, String(second.stderr));
    const summary = JSON.parse(String(second.stdout));
    assert.equal(summary.filesSent, 1);
    assert.ok(summary.filesSeeded >= 5, `seeded ${summary.filesSeeded}`);
    const folders = readdirSync(bucketPath()).sort();
    assert.equal(folders.length, 2);
    assert.deepEqual(objectsIn(bucketPath(folders[1]!)), expectedObjects(source));
  });

  it('re-runs incrementally: only the changed file crosses the channel, deleted files are deleted', async () => {
    writeMixedTree(source);
    await createStorageSecret(ns.name);
    // --keep-clone: the clone stays (the helper pod does not).
    const first = await backup(ns.name, ['data', '--secret', 's3', '--keep-clone']);
    assert.equal(first.exitCode, 0, String(first.stderr));
    const left = await managedLeftovers(ns.name);
    assert.match(left, /^persistentvolumeclaim\/data-cloned-\d{10}$/);
    appendFileSync(join(source, 'nested', 'deeper', 'deepest', 'note.txt'), 'one more line\n');
    unlinkSync(join(source, 'private.key'));
    // --no-clone reads the live PVC, with a warning: no clone is made.
    const rerun = await backup(ns.name, ['data', '--secret', 's3', '--no-clone', '-o', 'json']);
    assert.equal(rerun.exitCode, 0, String(rerun.stderr));
    assert.match(String(rerun.stderr), /^warning: --no-clone: reading the live PVC "data"; files that change/m);
    assert.equal(await managedLeftovers(ns.name), left);
    const summary = JSON.parse(String(rerun.stdout));
    assert.equal(summary.filesSent, 1);
    assert.equal(summary.filesDeleted, 1);
    assert.ok(summary.channelBytes < 64 * 1024, `channel carried ${summary.channelBytes} bytes`);
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
  });

  it('shows the progress of the upload moving while a single large file is sent, on a pipe', async () => {
    writeFileSync(join(source, 'one.bin'), randomBytes(64 * 1024 * 1024));
    await createStorageSecret(ns.name);
    // 3 MiB/s: the upload takes ~21 s, and a pipe gets a progress line every 5 s.
    const result = await backup(ns.name, ['data', '--secret', 's3', '--env', 'RCLONE_BWLIMIT=3M']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const lines = String(result.stderr)
      .split('\n')
      .filter((l) => /^Transfer: \d+% /.test(l));
    const percents = lines.map((l) => Number(/^Transfer: (\d+)%/.exec(l)![1]));
    // A line may fall before the first byte left (0%) or after the last one (100%, while rclone closes the
    // upload); those in between must grow, and at least two of them must be seen.
    const within = percents.filter((p) => p > 0 && p < 100);
    assert.ok(within.length >= 2, `fewer than two lines within (0, 100):\n${lines.join('\n')}`);
    assert.ok(
      percents.every((p, i) => p <= 100 && (i === 0 || p >= percents[i - 1]!)) &&
        within.every((p, i) => i === 0 || p > within[i - 1]!),
      `the upload's share did not grow: ${lines.join('\n')}`,
    );
    // An edge line may have no rate to tell an ETA from (0 B/s before the first byte left); the others must.
    for (const [i, line] of lines.entries())
      assert.match(
        line,
        percents[i]! > 0 && percents[i]! < 100
          ? / of 64\.0 MiB uploaded, [\d.]+ \S+ arrived, [01]\/1 files · .* ETA \d/
          : / of 64\.0 MiB uploaded, [\d.]+ \S+ arrived, [01]\/1 files · .* ETA (\d|unknown)/,
      );
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
  });

  it('sends a file larger than a batch to the storage as it arrives (rclone >= 1.76), keeping its mtime', async () => {
    const big = join(source, 'big.bin');
    writeFileSync(big, randomBytes(8 * 1024 * 1024));
    writeFileSync(join(source, 'small.txt'), 'small\n');
    const mtime = new Date('2024-02-03T04:05:06Z');
    utimesSync(big, mtime, mtime);
    await createStorageSecret(ns.name);
    const staging = mkdtempSync(join(tmpdir(), 'staging-'));
    try {
      const args = ['data', '--secret', 's3', '--staging-cap', '1Mi', '--staging-dir', staging, '-o', 'json'];
      args.push('--rclone', bed().rcloneNew);
      // 4 MiB/s: the upload takes about 2 s, long enough to look at it.
      const run = backup(ns.name, [...args, '--env', 'RCLONE_BWLIMIT=4M']);
      const running = watchRun(run);
      await waitFor('rclone rcat sending big.bin', () => {
        running.assertRunning('its upload was seen');
        return processesUnder([run.pid!]).find((p) => /rclone rcat .*big\.bin/.test(p.cmdline));
      });
      // While it streams: no object under its name yet, and no copy of it on the local disk.
      assert.equal(existsSync(join(bucketPath(), 'big.bin')), false, 'an object exists before the upload ended');
      assert.ok(du(staging) < 1024 * 1024, `the staging folder holds ${du(staging)} bytes`);
      const first = await run;
      assert.equal(first.exitCode, 0, String(first.stderr));
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      // The object has the file's mtime (as S3 metadata), so that a re-run sends nothing.
      assert.equal(statSync(join(bucketPath(), 'big.bin')).mtime.toISOString(), mtime.toISOString());
      const rerun = await backup(ns.name, args);
      assert.equal(rerun.exitCode, 0, String(rerun.stderr));
      assert.equal(JSON.parse(String(rerun.stdout)).filesSent, 0);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });

  it('uses a remote of the local rclone config with --remote; no Secret is needed in the cluster', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    await withRemoteConfig(async (env) => {
      const result = await backup(ns.name, ['data', '--remote', `mine:${testBucket()}/from-remote`], env);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(objectsIn(bucketPath('from-remote')), expectedObjects(source));
      assert.equal(String((await kubectl(['get', 'secrets', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
    });
  });

  it('create --mode local --remote backs up without a Secret (no operator field is asked for)', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    await withRemoteConfig(async (env) => {
      const remote = `mine:${testBucket()}/from-create`;
      const result = await execa(
        'kubectl',
        ['datamover', 'create', 'once', '--pvc', 'data', '--mode', 'local', '--remote', remote, '-n', ns.name],
        { env: userEnv(env), extendEnv: false, reject: false },
      );
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(objectsIn(bucketPath('from-create')), expectedObjects(source));
      assert.equal(await managedLeftovers(ns.name), '');
    });
  });

  it('passes --env RCLONE_*, --profile and --bwlimit settings to rclone, and its log holds no secret', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    await createStorageSecret(ns.name);
    const dir = mkdtempSync(join(tmpdir(), 'rclone-log-'));
    try {
      const logFile = join(dir, 'rclone.log');
      const result = await backup(ns.name, [
        'data',
        '--secret',
        's3',
        '--env',
        `RCLONE_LOG_FILE=${logFile}`,
        '--env',
        'RCLONE_LOG_LEVEL=INFO',
        '-v=8',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const log = readFileSync(logFile, 'utf8');
      assert.match(log, /INFO/);
      assert.ok(!log.includes(bed().s3.secretAccessKey), "the secret key is in rclone's log");
      // -v=8 shows rclone's debug log, which names settings read from the environment: redacted.
      const tuning = ['--profile', 'limited-bandwidth', '--bwlimit', '20M', '--env', 'RCLONE_CHECKERS=3'];
      const debug = await backup(ns.name, ['data', '--secret', 's3', '-v=8', ...tuning]);
      assert.equal(debug.exitCode, 0, String(debug.stderr));
      assert.match(String(debug.stderr), /DEBUG/);
      // The profile's transfers, --bwlimit over the profile's 10M, and --env, as rclone read them.
      assert.match(String(debug.stderr), /Setting --transfers "2" from environment variable RCLONE_TRANSFERS="2"/);
      assert.match(String(debug.stderr), /Setting --bwlimit "20Mi?" from environment variable RCLONE_BWLIMIT="20M"/);
      assert.match(String(debug.stderr), /Setting --checkers "3" from environment variable RCLONE_CHECKERS="3"/);
      assert.ok(!String(debug.stderr).includes(bed().s3.secretAccessKey), 'the secret key is in the plugin output');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a Secret without BUCKET_NAME in one line and creates nothing', async () => {
    writeMixedTree(source, { bigFileBytes: 1024 });
    await createStorageSecret(ns.name, 's3', { BUCKET_NAME: undefined });
    const result = await backup(ns.name, ['data', '--secret', 's3']);
    assert.equal(result.exitCode, 1);
    const errors = String(result.stderr)
      .split('\n')
      .filter((l) => l.startsWith('error:'));
    assert.deepEqual(errors, [
      'error: Secret "s3" is missing key BUCKET_NAME; add it to the Secret ' +
        '(required: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BUCKET_HOST, BUCKET_NAME; ' +
        'AWS_REGION, BUCKET_PORT and TLS_HOST default to us-east-1, 443 and true)',
    ]);
    assert.equal(await managedLeftovers(ns.name), '');
    assert.deepEqual(readdirSync(bucketPath()), []);
  });

  it('refuses a PVC that does not exist, naming it', async () => {
    await createStorageSecret(ns.name);
    const result = await backup(ns.name, ['nope', '--secret', 's3']);
    assert.equal(result.exitCode, 1);
    assert.match(
      String(result.stderr),
      new RegExp(`error: persistentvolumeclaim "nope" in namespace "${ns.name}" not found`),
    );
  });

  it('fails clearly when the StorageClass cannot clone, and removes the clone', async () => {
    await kubectl(['delete', 'pvc', 'data', '-n', ns.name]);
    await createBoundPvc(ns.name, 'data', { storageClass: bed().storageClasses.noClone });
    await createStorageSecret(ns.name);
    const result = await backup(ns.name, ['data', '--secret', 's3', '--timeout', '20s']);
    assert.equal(result.exitCode, 1);
    assert.match(
      String(result.stderr),
      /cannot be provisioned: StorageClass datamover-noclone does not support cloning.*--no-clone/,
    );
    assert.equal(await managedLeftovers(ns.name), '');
  });

  describe('TLS', () => {
    const tlsSecret = () =>
      createStorageSecret(ns.name, 's3', { TLS_HOST: 'true', BUCKET_PORT: String(bed().s3.tlsPort) });

    it("refuses the bed's self-signed certificate without --ca-file, in one line, creating nothing", async () => {
      writeMixedTree(source, { bigFileBytes: 1024 });
      await tlsSecret();
      const result = await backup(ns.name, ['data', '--secret', 's3']);
      assert.equal(result.exitCode, 1);
      assert.match(String(result.stderr), /^error: .*TLS certificate is not trusted; pass --ca-file/m);
      assert.equal(await managedLeftovers(ns.name), '');
    });

    for (const [label, rclone] of [
      ['Debian rclone 1.60', '/usr/bin/rclone'],
      ['the pinned rclone', ''],
    ] as const) {
      it(`trusts a private CA with --ca-file (${label})`, async () => {
        writeMixedTree(source, { bigFileBytes: 1024 });
        await tlsSecret();
        const result = await backup(ns.name, [
          'data',
          '--secret',
          's3',
          '--ca-file',
          bed().s3.caFile,
          '--rclone',
          rclone || bed().rcloneNew,
        ]);
        assert.equal(result.exitCode, 0, String(result.stderr));
        assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      });
    }

    it('skips verification only with --insecure-skip-tls-verify, and warns', async () => {
      writeMixedTree(source, { bigFileBytes: 1024 });
      await tlsSecret();
      const result = await backup(ns.name, ['data', '--secret', 's3', '--insecure-skip-tls-verify']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /warning: --insecure-skip-tls-verify/);
    });

    it('says TLS_HOST is wrong when it does not match the endpoint, both ways', async () => {
      await createStorageSecret(ns.name, 'plain-to-tls', { TLS_HOST: 'false', BUCKET_PORT: String(bed().s3.tlsPort) });
      await createStorageSecret(ns.name, 'tls-to-plain', { TLS_HOST: 'true' });
      const toTls = await backup(ns.name, ['data', '--secret', 'plain-to-tls']);
      assert.equal(toTls.exitCode, 1);
      assert.match(
        String(toTls.stderr),
        new RegExp(
          /^error: .*400 Bad Request, which is what an HTTPS endpoint says to plain HTTP; /.source +
            /if the endpoint uses TLS, set TLS_HOST to true/.source,
          'm',
        ),
      );
      const toPlain = await backup(ns.name, ['data', '--secret', 'tls-to-plain']);
      assert.equal(toPlain.exitCode, 1);
      assert.match(String(toPlain.stderr), /^error: .*speaks plain HTTP but TLS_HOST is true; set TLS_HOST to false/m);
    });
  });

  describe('interruptions', () => {
    // Many 1 MiB files, 1 MiB staging batches and rclone's bandwidth limit: the
    // backpressure holds the pod-side tar for many seconds, long enough to interrupt it.
    const slow = ['--env', 'RCLONE_BWLIMIT=2M', '--staging-cap', '1Mi'];
    function writeManyFiles(root: string): void {
      mkdirSync(join(root, 'many'));
      for (let i = 0; i < 40; i++) writeFileSync(join(root, 'many', `part-${i}.bin`), randomBytes(1024 * 1024));
    }

    /** How many files of the transfer are in the bucket (the S3 server shows an upload under way too). */
    const sent = () => (existsSync(bucketPath('many')) ? readdirSync(bucketPath('many')).length : 0);

    it('Ctrl-C (SIGINT) stops the run and removes the helper pod and the clone', async () => {
      writeManyFiles(source);
      await createStorageSecret(ns.name);
      const run = execa(
        join(REPO_ROOT, 'bin', 'kubectl-datamover'),
        ['backup', 'data', '--secret', 's3', '-n', ns.name, ...slow],
        { env: userEnv(), extendEnv: false, reject: false },
      );
      const running = watchRun(run);
      await waitFor('a first file in the bucket', () => (running.ended || sent() > 0 ? true : undefined));
      running.assertRunning('it could be interrupted');
      run.kill('SIGINT');
      const result = await run;
      assert.equal(result.exitCode, 1);
      assert.match(String(result.stderr), /error: interrupted by SIGINT/);
      assert.equal(await managedLeftovers(ns.name), '');
      // Stopped mid-way: not every file was sent.
      assert.ok(sent() < 40, 'the run went on to the end');
    });

    // Files of a batch's size: staged with rclone 1.60, sent straight into rclone rcat with the pinned one.
    for (const [label, binary, how] of [
      ['staged', '/usr/bin/rclone', /rclone move /],
      ['sent directly', '', /rclone rcat /],
    ] as const)
      it(
        `a stream cut mid-file (the pod-side tar killed) resumes from the last complete file (${label}); ` +
          'the result is byte-identical',
        async () => {
          writeManyFiles(source);
          await createStorageSecret(ns.name);
          const args = ['data', '--secret', 's3', '-o', 'json', '--rclone', binary || bed().rcloneNew, ...slow];
          const run = backup(ns.name, args);
          const running = watchRun(run);
          // Mid-stream: files in the bucket, the plugin's rclone uploading, the helper pod's tar sending.
          const [tar, rclone] = await waitFor('the transfer under way', () => {
            running.assertRunning('the stream could be cut');
            const tar = podProcesses(ns.name).find((p) => p.cmdline.includes('tar -c -f - --no-recursion'));
            const rclone = processesUnder([run.pid!]).find((p) => p.command === 'rclone' && how.test(p.cmdline));
            return sent() > 0 && tar && rclone ? [tar, rclone] : undefined;
          });
          // Secrets never appear in the command line of the plugin's rclone.
          assert.match(rclone.cmdline, /rclone .*DATAMOVER:/);
          assert.ok(!rclone.cmdline.includes(bed().s3.secretAccessKey), 'the secret key is on a command line');
          // The bed runs pod-side commands as local processes: kill the helper's tar mid-stream.
          process.kill(tar.pid);
          const result = await run;
          assert.equal(result.exitCode, 0, String(result.stderr));
          const summary = JSON.parse(String(result.stdout));
          assert.ok(summary.streamResumes >= 1, `resumes: ${summary.streamResumes}`);
          // Resumed, not restarted: the channel carried less than twice the data.
          assert.ok(summary.channelBytes < 2 * 40 * 1024 * 1024, `channel bytes ${summary.channelBytes}`);
          assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
          assert.equal(await managedLeftovers(ns.name), '');
        },
      );
  });
});

/** Runs `body` with an rclone config holding a remote "mine" for the bed's S3 server. */
async function withRemoteConfig(body: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const s3 = bed().s3;
  const dir = mkdtempSync(join(tmpdir(), 'rclone-config-'));
  try {
    const config = join(dir, 'rclone.conf');
    const settings = [
      '[mine]',
      'type = s3',
      'provider = Other',
      `endpoint = ${s3.endpoint}`,
      `access_key_id = ${s3.accessKeyId}`,
      `secret_access_key = ${s3.secretAccessKey}`,
      'force_path_style = true',
    ];
    writeFileSync(config, `${settings.join('\n')}\n`);
    await body({ RCLONE_CONFIG: config });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of the files below `dir`. */
function du(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}
