// The helper pod's WebDAV server for --transport port-forward: what it is given, and what it sends.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newPodServer, SERVER_MIN_BYTES, SERVER_SCRATCH, serverRemoteEnv } from '../../../lib/rclone/pod-server.ts';
import { serverFiles } from '../../../lib/backup/server-transfer.ts';
import type { PodFile } from '../../../lib/stream/pod-files.ts';

function file(path: string, size: number, type: PodFile['type'] = 'file'): PodFile {
  return { path, type, size, mtime: 0, mode: 0o644, uid: 0, gid: 0, nlink: 1, inode: 1 };
}

describe('the helper pod’s rclone server (--transport port-forward)', () => {
  it('gets a SHA-1 htpasswd line of a fresh random password, never the password itself', () => {
    const server = newPodServer('read-only');
    const other = newPodServer('read-only');
    assert.notEqual(server.password, other.password);
    assert.ok(server.password.length >= 32);
    const line = server.env.find((e) => e.name === 'DATAMOVER_HTPASSWD')?.value ?? '';
    const sha1 = createHash('sha1').update(server.password).digest('base64');
    assert.equal(line, `datamover:{SHA}${sha1}`);
    const spec = JSON.stringify({ command: server.command, env: server.env });
    assert.ok(!spec.includes(server.password), 'the password is in the pod spec');
  });

  it('serves the mount read-only on the pod’s loopback, with each file’s MD5', () => {
    const script = newPodServer('read-only').command.at(-1)!;
    assert.match(script, /exec rclone serve webdav \. --addr 127\.0\.0\.1:8080 --read-only --etag-hash MD5 /);
    assert.match(script, /--htpasswd \/run\/datamover\/htpasswd$/);
  });

  it('serves it writable only for a restore', () => {
    const script = newPodServer('writable', '.datamover-incoming-abc123').command.at(-1)!;
    assert.match(script, /^rclone serve webdav \. --addr 127\.0\.0\.1:8080 --etag-hash MD5 .* &$/m);
    assert.doesNotMatch(script, /--read-only/);
  });

  it('removes a restore’s folder when its container is stopped, after the server’s last write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pod-server-'));
    let container: ChildProcess | undefined;
    try {
      const [bin, volume, scratch] = ['bin', 'volume', 'scratch'].map((name) => join(dir, name));
      for (const folder of [bin!, volume!, scratch!]) mkdirSync(folder);
      // rclone's stand-in: makes the folder, and once told to stop writes into it again (a late request) first.
      const incoming = '.datamover-incoming-abc123';
      const late = `mkdir -p ${incoming} && echo late > ${incoming}/large.bin`;
      writeFileSync(
        join(bin!, 'rclone'),
        `#!/bin/sh\ntrap 'sleep 0.2; ${late}; touch stopped; exit 0' TERM\nmkdir ${incoming} && touch serving\n` +
          'while :; do sleep 0.05; done\n',
      );
      chmodSync(join(bin!, 'rclone'), 0o755);
      const script = newPodServer('writable', incoming).command.at(-1)!.replaceAll(SERVER_SCRATCH, scratch!);
      // BusyBox's sh, as in rclone's image (Alpine).
      container = spawn('busybox', ['sh', '-c', script], {
        cwd: volume,
        env: { PATH: `${bin}:${process.env.PATH}`, DATAMOVER_HTPASSWD: 'datamover:{SHA}x' },
        stdio: 'inherit',
        detached: true, // a process group: nothing of it outlives a failed test
      });
      for (let i = 0; !existsSync(join(volume!, 'serving')); i++) {
        assert.ok(i < 100, 'the server did not start');
        await sleep(50);
      }
      container.kill('SIGTERM'); // what a kubelet sends to the container's pid 1
      await once(container, 'exit');
      for (let i = 0; !existsSync(join(volume!, 'stopped')); i++) {
        assert.ok(i < 40, 'the server did not stop'); // a container's processes die with it: it stopped before
        await sleep(50);
      }
      assert.equal(existsSync(join(volume!, incoming)), false, 'the folder is left');
      assert.equal(existsSync(join(volume!, 'serving')), true, 'only the folder is removed');
    } finally {
      try {
        if (container?.pid) process.kill(-container.pid, 'SIGKILL');
      } catch {
        // ended with the test
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs up only plain-named regular files from 16 MiB up to a single part’s 5 GiB', () => {
    const files = [
      file('small.bin', SERVER_MIN_BYTES - 1),
      file('large.bin', SERVER_MIN_BYTES),
      file('dir/with space.bin', 1024 ** 3),
      file('huge.bin', 5 * 1024 ** 3),
      file('back\\slash.bin', SERVER_MIN_BYTES),
      file('new\nline.bin', SERVER_MIN_BYTES),
      file('ünï.bin', SERVER_MIN_BYTES),
      file('link', SERVER_MIN_BYTES, 'symlink'),
    ];
    assert.deepEqual(
      serverFiles(files).map((f) => f.path),
      ['large.bin', 'dir/with space.bin'],
    );
  });

  it('is read by an rclone WebDAV remote on the local port, as ownCloud (whose checksums it gives)', () => {
    const env = serverRemoteEnv(41234, 'OBSCURED');
    assert.equal(env.RCLONE_CONFIG_DATAMOVERPOD_URL, 'http://127.0.0.1:41234/');
    assert.equal(env.RCLONE_CONFIG_DATAMOVERPOD_VENDOR, 'owncloud');
    assert.equal(env.RCLONE_CONFIG_DATAMOVERPOD_PASS, 'OBSCURED');
  });
});
