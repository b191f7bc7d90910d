// backup --transport port-forward on the bed: the helper pod runs rclone's WebDAV server (the bed's
// job-runner runs it in a network namespace of its own, kwok's port-forward reaches its loopback),
// the plugin forwards a local port to it through the API server, and the user's rclone copies the
// large files from it to the real S3 server; the rest takes the exec tar stream.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';
import {
  bed,
  createBoundPvc,
  kubectl,
  managedLeftovers,
  portForwardsInto,
  useNamespace,
  userEnv,
  userPath,
  volumeFolder,
} from './support/bed.ts';
import { snapshot, writeMixedTree } from './support/tree.ts';
import {
  bucketPath,
  createStorageSecret,
  emptyBucket,
  expectedObjects,
  objectsIn,
  testBucket,
} from './support/storage.ts';

function datamover(namespace: string, args: string[], env: Record<string, string> = {}) {
  return execa('kubectl', ['datamover', ...args, '-n', namespace], {
    env: userEnv(env),
    extendEnv: false,
    reject: false,
  });
}

const MiB = 1024 * 1024;
const BACKUP_BY_FORWARD = ['backup', 'data', '--secret', 's3', '--transport', 'port-forward'];

/** The fields of the helper pod these tests read. */
interface ServerPod {
  spec: {
    containers: {
      image: string;
      command: string[];
      ports?: unknown[];
      volumeMounts: { readOnly?: boolean }[];
      env: { name: string; value?: string }[];
    }[];
  };
}

describe('kubectl datamover backup --transport port-forward', () => {
  const ns = useNamespace('portfwd');
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  it('sends the large files from the pod’s rclone server, the rest by exec: bytes, MD5s, restore equal', async () => {
    writeMixedTree(source, { bigFileBytes: 20 * MiB });
    writeFileSync(join(source, 'nested', 'second large.bin'), randomBytes(17 * MiB));
    // Large, but a name rclone's WebDAV would re-encode: the tar stream takes it.
    writeFileSync(join(source, 'back\\slash.bin'), randomBytes(17 * MiB));
    const result = await datamover(ns.name, [...BACKUP_BY_FORWARD, '-o', 'json']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const summary = JSON.parse(String(result.stdout));
    assert.equal(summary.filesFromServer, 2, String(result.stderr));
    assert.equal(summary.filesSent, summary.files);
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
    // The manifest's MD5 of each file is the file's.
    const manifest = JSON.parse(readFileSync(join(bucketPath(), '.datamover-manifest.json'), 'utf8'));
    for (const name of ['big.bin', 'nested/second large.bin', 'back\\slash.bin']) {
      const entry = manifest.entries.find((e: { path: string }) => e.path === name);
      const md5 = createHash('md5')
        .update(readFileSync(join(source, name)))
        .digest('hex');
      assert.equal(entry?.md5, md5, name);
    }
    assert.equal(await managedLeftovers(ns.name), '');

    const restored = await datamover(ns.name, [
      'restore',
      '--secret',
      's3',
      '--from',
      'plain',
      '--to-pvc',
      'restored',
      '--create',
      '--size',
      '1Gi',
    ]);
    assert.equal(restored.exitCode, 0, String(restored.stderr));
    const withMtimes = { mtimes: true, folderMtimes: true };
    assert.deepEqual(snapshot(await volumeFolder(ns.name, 'restored'), withMtimes), snapshot(source, withMtimes));
  });

  it('runs the server on the pod’s own loopback, behind a password hash, as the volume’s reader', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(16 * MiB));
    const run = datamover(ns.name, [...BACKUP_BY_FORWARD, '-v']);
    let pod: ServerPod | undefined;
    for (let i = 0; i < 100 && !pod; i++) {
      const pods = await kubectl(['get', 'pods', '-n', ns.name, '-o', 'json']);
      pod = (JSON.parse(String(pods.stdout)).items as ServerPod[]).find((p) => p.spec.containers[0].ports);
      if (!pod) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const result = await run;
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.ok(pod, 'no helper pod with a port was seen');
    const container = pod.spec.containers[0];
    assert.equal(container.image, 'docker.io/rclone/rclone:1.76');
    assert.match(container.command.join(' '), /serve webdav \. --addr 127\.0\.0\.1:8080 --read-only/);
    assert.equal(container.volumeMounts[0].readOnly, true);
    const htpasswd = container.env.find((e) => e.name === 'DATAMOVER_HTPASSWD')?.value ?? '';
    assert.match(htpasswd, /^datamover:\{SHA\}[A-Za-z0-9+/]{27}=$/);
    // Not a usable credential anywhere: the plugin's output holds neither the hash nor a password.
    assert.doesNotMatch(String(result.stderr), /\{SHA\}|RCLONE_CONFIG_DATAMOVERPOD_PASS=/);
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('an image without rclone fails in one line naming --helper-image, and leaves nothing', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(16 * MiB));
    const result = await datamover(ns.name, [
      'backup',
      'data',
      '--secret',
      's3',
      '--transport',
      'port-forward',
      '--helper-image',
      'docker.io/library/busybox:1.37',
    ]);
    assert.notEqual(result.exitCode, 0);
    const lines = String(result.stderr).trim().split('\n');
    assert.match(lines.at(-1)!, /^error: the helper pod's rclone server did not answer on port 8080.*--helper-image/);
    assert.equal(await managedLeftovers(ns.name), '');
    assert.deepEqual(objectsIn(bucketPath()), {});
  });

  it('takes a --remote of type s3 as S3: its large files come from the pod’s server', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(17 * MiB));
    writeFileSync(join(source, 'small.txt'), 'small\n');
    // A remote of the user's rclone config (here by its environment) for the bed's S3 server.
    const s3 = bed().s3;
    const mine = {
      RCLONE_CONFIG_MINE_TYPE: 's3',
      RCLONE_CONFIG_MINE_PROVIDER: 'Other',
      RCLONE_CONFIG_MINE_ENDPOINT: s3.endpoint,
      RCLONE_CONFIG_MINE_ACCESS_KEY_ID: s3.accessKeyId,
      RCLONE_CONFIG_MINE_SECRET_ACCESS_KEY: s3.secretAccessKey,
      RCLONE_CONFIG_MINE_FORCE_PATH_STYLE: 'true',
    };
    const remote = `mine:${testBucket()}/mine`;
    const args = ['backup', 'data', '--remote', remote, '--transport', 'port-forward', '-o', 'json'];
    const result = await datamover(ns.name, args, mine);
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.equal(JSON.parse(String(result.stdout)).filesFromServer, 1, String(result.stdout));
    assert.deepEqual(objectsIn(bucketPath('mine')), expectedObjects(source));
    assert.equal(await managedLeftovers(ns.name), '');
  });

  it('a kubectl port-forward killed mid-copy starts again on its port: the run completes, bytes equal', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(32 * MiB));
    // 4 MiB/s: the copy takes about 8 s, long enough to kill its kubectl in the middle.
    const run = datamover(ns.name, [...BACKUP_BY_FORWARD, '--env', 'RCLONE_BWLIMIT=4M', '-o', 'json']);
    let first: number | undefined;
    for (let i = 0; i < 600 && first === undefined; i++) {
      first = portForwardsInto(ns.name)[0]?.pid;
      if (first === undefined) await sleep(100);
    }
    assert.ok(first, 'no kubectl port-forward was seen within 60 s');
    await sleep(3000); // some bytes into the copy
    process.kill(first, 'SIGKILL');
    let restarted: number | undefined;
    for (let i = 0; i < 100 && restarted === undefined; i++) {
      restarted = portForwardsInto(ns.name).find((p) => p.pid !== first)?.pid;
      if (restarted === undefined) await sleep(100);
    }
    const result = await run;
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.ok(restarted, 'no second kubectl port-forward was started');
    assert.equal(JSON.parse(String(result.stdout)).filesFromServer, 1, String(result.stdout));
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
    assert.equal(await managedLeftovers(ns.name), '');
    assert.deepEqual(portForwardsInto(ns.name), [], 'the port-forward ended with the run');
  });

  it('without kubectl on PATH fails in one line naming it, before anything is made', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(MiB));
    const dirs = userPath().split(':');
    const rclone = join(dirs.find((dir) => existsSync(join(dir, 'rclone')))!, 'rclone'); // the user's, as before
    const path = dirs.filter((dir) => !existsSync(join(dir, 'kubectl'))).join(':');
    const result = await execa(
      join(REPO_ROOT, 'bin', 'kubectl-datamover'),
      [...BACKUP_BY_FORWARD, '--rclone', rclone, '-n', ns.name],
      { env: userEnv({ PATH: path }), extendEnv: false, reject: false },
    );
    assert.equal(result.exitCode, 1, String(result.stderr));
    assert.equal(
      String(result.stderr).trim().split('\n').at(-1),
      'error: --transport port-forward runs "kubectl port-forward", and no kubectl is on PATH; ' +
        'install kubectl and put it on PATH; or leave out --transport',
    );
    assert.equal(await managedLeftovers(ns.name), '');
    assert.deepEqual(objectsIn(bucketPath()), {});
  });

  it('refuses a destination without MD5s (a --remote) before anything is made', async () => {
    writeFileSync(join(source, 'large.bin'), randomBytes(MiB));
    // A remote of the user's rclone config (here by its environment): a local folder.
    const mine = { RCLONE_CONFIG_MINE_TYPE: 'local' };
    const args = ['backup', 'data', '--remote', 'mine:/tmp/datamover-nowhere', '--transport', 'port-forward'];
    const result = await datamover(ns.name, args, mine);
    assert.notEqual(result.exitCode, 0);
    assert.match(String(result.stderr).trim().split('\n').at(-1)!, /--transport port-forward sends to S3 only/);
    assert.equal(await managedLeftovers(ns.name), '');
  });
});
