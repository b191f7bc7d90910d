// The helper pod's WebDAV server for --transport port-forward: what it is given, and what it sends.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { newPodServer, SERVER_MIN_BYTES, serverRemoteEnv } from '../../../lib/rclone/pod-server.ts';
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
    const script = newPodServer('writable').command.at(-1)!;
    assert.match(script, /exec rclone serve webdav \. --addr 127\.0\.0\.1:8080 --etag-hash MD5 /);
    assert.doesNotMatch(script, /--read-only/);
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
