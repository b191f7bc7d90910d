// Proof that the bed is real: the API server enforces the project's CRDs, the
// provisioner clones, exec streams bytes both ways (kubectl and client-node),
// rclone talks to the S3 server, and kubectl finds the plugin.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { execa } from 'execa';
import { Exec, type V1Status } from '@kubernetes/client-node';
import {
  applyYaml,
  bed,
  createBoundPvc,
  createPodOnPvc,
  datamover,
  kubeConfig,
  kubectl,
  useNamespace,
  userEnv,
} from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import { freePort } from '../testbed/processes.ts';
import { NODE_NAME, SECOND_NODE_NAME } from '../testbed/cluster.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'datamover-e2e-'));
}

describe('test bed', () => {
  const ns = useNamespace('bed');

  describe('the API server enforces the DataMover CRDs', () => {
    it('rejects a DataMover without the required secretName', async () => {
      const result = await kubectl(['apply', '-n', ns.name, '-f', '-'], {
        reject: false,
        input: [
          'apiVersion: datamover.a-cup-of.coffee/v1alpha1',
          'kind: DataMover',
          'metadata: {name: incomplete}',
          'spec: {sourcePvc: data}',
          '',
        ].join('\n'),
      });
      assert.notEqual(result.exitCode, 0);
      assert.match(String(result.stderr), /spec\.secretName: Required value/);
    });

    it('accepts a complete DataMover and fills in the defaults', async () => {
      await applyYaml(
        [
          'apiVersion: datamover.a-cup-of.coffee/v1alpha1',
          'kind: DataMover',
          `metadata: {name: full, namespace: ${ns.name}}`,
          'spec: {sourcePvc: data, secretName: s3, image: {}}',
          '',
        ].join('\n'),
      );
      const spec = JSON.parse(
        String((await kubectl(['get', 'datamover', 'full', '-n', ns.name, '-o', 'jsonpath={.spec}'])).stdout),
      );
      assert.equal(spec.addTimestampPrefix, false);
      assert.equal(spec.image.pullPolicy, 'Always');
    });

    it('rejects a DataMoverSchedule whose cron has six fields', async () => {
      const result = await kubectl(['apply', '-n', ns.name, '-f', '-'], {
        reject: false,
        input: [
          'apiVersion: datamover.a-cup-of.coffee/v1alpha1',
          'kind: DataMoverSchedule',
          'metadata: {name: bad}',
          'spec: {schedule: "0 0 * * * *", sourcePvc: data, secretName: s3}',
          '',
        ].join('\n'),
      });
      assert.notEqual(result.exitCode, 0);
      assert.match(String(result.stderr), /spec\.schedule/);
    });
  });

  describe('nodes', () => {
    it('has two Ready nodes; pods go to the first unless they ask for the second (PreferNoSchedule)', async () => {
      const ready = String(
        (
          await kubectl([
            'get',
            'nodes',
            '-o',
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
          ])
        ).stdout,
      ).trim();
      assert.equal(ready, `${NODE_NAME}=True ${SECOND_NODE_NAME}=True`);
      await createBoundPvc(ns.name, 'data');
      await createBoundPvc(ns.name, 'other');
      await createPodOnPvc(ns.name, 'anywhere', 'data');
      await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: second, namespace: ${ns.name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${SECOND_NODE_NAME}}
  containers: [{name: main, image: busybox, workingDir: /data, volumeMounts: [{name: d, mountPath: /data}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: other}}]
`);
      await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', 'pod/second', '-n', ns.name]);
      const nodeOf = async (pod: string) =>
        String((await kubectl(['get', 'pod', pod, '-n', ns.name, '-o', 'jsonpath={.spec.nodeName}'])).stdout);
      assert.equal(await nodeOf('anywhere'), NODE_NAME);
      assert.equal(await nodeOf('second'), SECOND_NODE_NAME);
      // Exec works on the second node too, on the pod's own volume.
      await kubectl(['exec', 'second', '-n', ns.name, '--', 'sh', '-c', 'echo there > file']);
      const { volumeFolder } = await import('./support/bed.ts');
      assert.equal(readFileSync(join(await volumeFolder(ns.name, 'other'), 'file'), 'utf8'), 'there\n');
    });
  });

  describe('clone and exec', () => {
    let source: string;
    let out: string;
    beforeEach(async () => {
      source = await createBoundPvc(ns.name, 'data');
      writeMixedTree(source);
      out = tempDir();
    });
    afterEach(() => rmSync(out, { recursive: true, force: true }));

    it('clones a PVC and streams the clone out with kubectl exec tar, bytes and modes equal', async () => {
      const clone = await createBoundPvc(ns.name, 'data-clone', { dataSource: 'data' });
      assert.notEqual(clone, source);
      await createPodOnPvc(ns.name, 'reader', 'data-clone', { readOnly: true });
      await execa('kubectl', ['exec', 'reader', '-n', ns.name, '--', 'tar', '-c', '.'], {
        env: userEnv(),
        extendEnv: false,
        encoding: 'buffer',
      }).pipe('tar', ['-x', '-C', out]);
      assert.deepEqual(snapshot(out, { mtimes: true }), snapshot(source, { mtimes: true }));
    });

    it("execs as the container's user, groups and capabilities, like a kubelet", async () => {
      const { chmodSync } = await import('node:fs');
      writeFileSync(join(source, 'root-only'), 'secret\n');
      chmodSync(join(source, 'root-only'), 0o600);
      await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: nobody, namespace: ${ns.name}}
spec:
  securityContext: {runAsUser: 65534, runAsGroup: 65534, supplementalGroups: [2000], runAsNonRoot: true}
  containers:
  - name: main
    image: busybox
    workingDir: /data
    securityContext: {capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true}
    volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: v1
kind: Pod
metadata: {name: root-no-caps, namespace: ${ns.name}}
spec:
  containers:
  - name: main
    image: busybox
    workingDir: /data
    securityContext: {capabilities: {drop: [ALL], add: [CHOWN]}}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`);
      await kubectl([
        'wait',
        '--for=condition=Ready',
        '--timeout=60s',
        'pod/nobody',
        'pod/root-no-caps',
        '-n',
        ns.name,
      ]);
      const exec = (pod: string, script: string) =>
        kubectl(['exec', pod, '-n', ns.name, '--', 'sh', '-c', script], { reject: false });
      assert.equal(String((await exec('nobody', 'id -u; id -G')).stdout), '65534\n65534 2000');
      const denied = await exec('nobody', 'cat root-only');
      assert.notEqual(denied.exitCode, 0);
      assert.match(String(denied.stderr), /Permission denied/);
      assert.match(String((await exec('nobody', 'touch new-file')).stderr), /Read-only file system/);
      assert.match(String((await exec('nobody', 'touch /tmp/x')).stderr), /Read-only file system/);
      // Root without DAC_OVERRIDE cannot read a 0600 file of another user, but may chown (CHOWN was added).
      writeFileSync(join(source, 'app-only'), 'app\n');
      const { chownSync } = await import('node:fs');
      chownSync(join(source, 'app-only'), 999, 999);
      chmodSync(join(source, 'app-only'), 0o600);
      assert.match(String((await exec('root-no-caps', 'cat app-only')).stderr), /Permission denied/);
      assert.equal((await exec('root-no-caps', 'chown 1000:1000 empty-file')).exitCode, 0);
      assert.equal((await exec('root-no-caps', 'grep CapEff /proc/self/status')).stdout, 'CapEff:\t0000000000000001');
    });

    it("kills the commands exec'd into a pod when the pod is deleted, as a kubelet does", async () => {
      await createPodOnPvc(ns.name, 'sleeper', 'data');
      await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', 'pod/sleeper', '-n', ns.name]);
      const exec = execa(
        'kubectl',
        ['exec', 'sleeper', '-n', ns.name, '--', 'sh', '-c', 'echo started; exec sleep 300'],
        {
          env: userEnv(),
          extendEnv: false,
          reject: false,
        },
      );
      // Deleted only once the command runs: a delete that beats the exec would prove nothing.
      await new Promise<void>((resolve) =>
        exec.stdout!.on('data', (chunk: Buffer) => chunk.includes('started') && resolve()),
      );
      const started = Date.now();
      await kubectl(['delete', 'pod', 'sleeper', '-n', ns.name, '--wait=false']);
      const ended = await exec;
      assert.notEqual(ended.exitCode, 0);
      assert.ok(Date.now() - started < 60_000, `the exec ran on for ${Date.now() - started} ms after the delete`);
    });

    it('streams through client-node Exec in both directions and reports exit codes', async () => {
      await createBoundPvc(ns.name, 'target');
      await createPodOnPvc(ns.name, 'reader', 'data', { readOnly: true });
      await createPodOnPvc(ns.name, 'writer', 'target');
      const exec = new Exec(kubeConfig());
      const run = (pod: string, command: string[], stdout: PassThrough | null, stdin: Readable | null) =>
        new Promise<V1Status>((resolve, reject) => {
          exec.exec(ns.name, pod, 'main', command, stdout, null, stdin, false, resolve).catch(reject);
        });

      // Out of the pod: tar -c on stdout, unpacked locally.
      const stdout = new PassThrough();
      const untar = execa('tar', ['-x', '-C', out], { stdin: 'pipe' });
      stdout.pipe(untar.stdin!);
      const outStatus = await run('reader', ['tar', '-c', '.'], stdout, null);
      stdout.end();
      await untar;
      assert.equal(outStatus.status, 'Success');
      assert.deepEqual(snapshot(out), snapshot(source));

      // Into the pod: a local tar on stdin, unpacked by tar -x in the pod.
      // A plain child process: its stdout stays paused until the exec channel reads it.
      const pack = spawn('tar', ['-c', '-C', source, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const inStatus = await run('writer', ['tar', '-x'], null, pack.stdout);
      assert.equal(inStatus.status, 'Success', inStatus.message);
      const { volumeFolder } = await import('./support/bed.ts');
      assert.deepEqual(snapshot(await volumeFolder(ns.name, 'target')), snapshot(source));

      // A failing command: its exit code comes back in the status.
      const failed = await run('reader', ['sh', '-c', 'exit 7'], new PassThrough().resume(), null);
      assert.equal(failed.status, 'Failure', JSON.stringify(failed));
      assert.equal(failed.reason, 'NonZeroExitCode', JSON.stringify(failed));
      assert.equal(failed.details?.causes?.find((c) => c.reason === 'ExitCode')?.message, '7');
    });
  });

  describe('rclone and the S3 server', () => {
    const rclones = { 'Debian rclone 1.60': '/usr/bin/rclone', 'pinned rclone': '' };
    for (const [label, path] of Object.entries(rclones)) {
      it(`${label} uploads with operator-shaped Secret settings, and the objects read back equal`, async () => {
        const s3 = bed().s3;
        const rclone = path || bed().rcloneNew;
        const src = tempDir();
        const back = tempDir();
        try {
          writeMixedTree(src, { bigFileBytes: 3 * 1024 * 1024 });
          // The operator's Secret keys, as a user would store them.
          const secret = {
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
            AWS_REGION: s3.region,
            BUCKET_HOST: '127.0.0.1',
            BUCKET_PORT: String(s3.port),
            BUCKET_NAME: s3.bucket,
            TLS_HOST: 'false',
          };
          const scheme = secret.TLS_HOST === 'true' ? 'https' : 'http';
          const env = userEnv({
            RCLONE_CONFIG_DEST_TYPE: 's3',
            RCLONE_CONFIG_DEST_PROVIDER: 'Other',
            RCLONE_CONFIG_DEST_ACCESS_KEY_ID: secret.AWS_ACCESS_KEY_ID,
            RCLONE_CONFIG_DEST_SECRET_ACCESS_KEY: secret.AWS_SECRET_ACCESS_KEY,
            RCLONE_CONFIG_DEST_REGION: secret.AWS_REGION,
            RCLONE_CONFIG_DEST_ENDPOINT: `${scheme}://${secret.BUCKET_HOST}:${secret.BUCKET_PORT}`,
            RCLONE_CONFIG_DEST_FORCE_PATH_STYLE: 'true',
          });
          const prefix = `proof-${label.replace(/\W+/g, '-')}`;
          await execa(rclone, ['copy', src, `dest:${secret.BUCKET_NAME}/${prefix}`], { env, extendEnv: false });
          await execa(rclone, ['copy', `dest:${secret.BUCKET_NAME}/${prefix}`, back], { env, extendEnv: false });
          const files = (tree: Record<string, { type: string; sha256?: string }>) =>
            Object.fromEntries(
              Object.entries(tree)
                .filter(([, e]) => e.type === 'file')
                .map(([k, e]) => [k, e.sha256]),
            );
          assert.deepEqual(files(snapshot(back)), files(snapshot(src)));
          // The bytes are really in the server's bucket folder.
          assert.deepEqual(files(snapshot(join(s3.dataDir, s3.bucket, prefix))), files(snapshot(src)));
        } finally {
          rmSync(src, { recursive: true, force: true });
          rmSync(back, { recursive: true, force: true });
        }
      });
    }
  });

  describe('kubectl plugin discovery', () => {
    it('lists kubectl-datamover as a plugin', async () => {
      const { stdout } = await kubectl(['plugin', 'list']);
      assert.match(String(stdout), /kubectl-datamover/);
    });

    it('runs kubectl datamover --help', async () => {
      const result = await datamover(['--help']);
      assert.equal(result.exitCode, 0);
      assert.match(String(result.stdout), /kubectl datamover version/);
    });

    it('runs kubectl datamover version and shows the server version', async () => {
      const result = await datamover(['version', '-o', 'json']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const info = JSON.parse(String(result.stdout));
      assert.match(info.clientVersion.version, /^v\d+\.\d+\.\d+/);
      assert.match(info.serverVersion.gitVersion, /^v1\.3[4-9]\./);
    });

    it('refuses an unknown command with exit code 2 and one line', async () => {
      const result = await datamover(['bogus']);
      assert.equal(result.exitCode, 2);
      assert.equal(
        String(result.stderr).trim(),
        'error: unknown command "bogus"; see "kubectl datamover --help" for the commands',
      );
    });

    it('names the server when it is down, in one line, exit 1', async () => {
      const dir = tempDir();
      try {
        const config = join(dir, 'config');
        const port = await freePort(); // nothing listens there
        writeFileSync(
          config,
          [
            'apiVersion: v1',
            'kind: Config',
            'current-context: down',
            `clusters: [{name: down, cluster: {server: "https://127.0.0.1:${port}"}}]`,
            'users: [{name: u, user: {token: t}}]',
            'contexts: [{name: down, context: {cluster: down, user: u}}]',
            '',
          ].join('\n'),
        );
        const result = await datamover(['version', '--kubeconfig', config]);
        assert.equal(result.exitCode, 1);
        const errorLines = String(result.stderr).trim().split('\n');
        assert.equal(errorLines.length, 1);
        assert.match(
          errorLines[0]!,
          new RegExp(
            '^error: cannot reach the Kubernetes API server at ' +
              `https://127\\.0\\.0\\.1:${port} \\(connection refused\\); `,
          ),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
