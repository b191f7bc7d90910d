// backup --transport port-forward: the helper pod runs rclone's WebDAV server of the volume (read-only,
// on the pod's loopback only, behind a password made for the run), and the user's rclone copies the
// large files from it through a port-forward straight to the bucket: no JavaScript in their data path.
// Each such file is uploaded in one part with the server's MD5 of it as Content-MD5, so the storage
// itself refuses bytes that differ from the file in the pod. Everything else (small files, symlinks,
// names rclone would re-encode, files of 5 GiB or more) takes the exec tar stream.
import { createHash, randomBytes } from 'node:crypto';
import type { HelperServer } from '../kube/helper-pod.ts';
import type { PodFile } from '../stream/pod-files.ts';

/** rclone's own image, at the version the plugin is tested with. */
export const DEFAULT_SERVER_IMAGE = 'docker.io/rclone/rclone:1.76';
export const SERVER_PORT = 8080;
const SERVER_USER = 'datamover';
/** An emptyDir for the password file: the image's root file system is read-only. */
export const SERVER_SCRATCH = '/run/datamover';
/** Below this a file costs more in requests than in bytes: it takes the tar stream. */
export const SERVER_MIN_BYTES = 16 * 1024 * 1024;
/** S3's largest single-part upload. */
const SINGLE_PART_MAX_BYTES = 5 * 1024 ** 3;
/** Names that rclone's WebDAV and S3 backends keep as they are: printable ASCII without "\\". */
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]+$/;

/** The helper container's command and environment (a hash of the password, not the password). */
export interface PodServer extends HelperServer {
  /** The run's password: only in the plugin's memory and, obscured, in rclone's environment. */
  password: string;
}

export function newPodServer(): PodServer {
  const password = randomBytes(24).toString('base64url');
  const sha1 = createHash('sha1').update(password).digest('base64');
  const htpasswd = `${SERVER_SCRATCH}/htpasswd`;
  const address = `127.0.0.1:${SERVER_PORT}`;
  const serve = `rclone serve webdav . --addr ${address} --read-only --etag-hash MD5 --htpasswd ${htpasswd}`;
  return {
    password,
    command: ['sh', '-c', `umask 077 && printf '%s\\n' "$DATAMOVER_HTPASSWD" > ${htpasswd} && exec ${serve}`],
    env: [{ name: 'DATAMOVER_HTPASSWD', value: `${SERVER_USER}:{SHA}${sha1}` }],
    port: SERVER_PORT,
    scratch: SERVER_SCRATCH,
  };
}

/** The files the server sends: regular, plain-named, from SERVER_MIN_BYTES up to a single part's limit. */
export function serverFiles(files: PodFile[]): PodFile[] {
  return files.filter(
    (f) => f.type === 'file' && f.size >= SERVER_MIN_BYTES && f.size < SINGLE_PART_MAX_BYTES && PLAIN_NAME.test(f.path),
  );
}

/** The rclone remote (by its environment) that reads the server through the local port. */
export const SERVER_REMOTE = 'DATAMOVERPOD';

export function serverRemoteEnv(localPort: number, obscuredPassword: string): Record<string, string> {
  const prefix = `RCLONE_CONFIG_${SERVER_REMOTE}_`;
  return {
    [`${prefix}TYPE`]: 'webdav',
    [`${prefix}URL`]: `http://127.0.0.1:${localPort}/`,
    // ownCloud's checksum property is what rclone's server gives with --etag-hash: the MD5 of each file.
    [`${prefix}VENDOR`]: 'owncloud',
    [`${prefix}USER`]: SERVER_USER,
    [`${prefix}PASS`]: obscuredPassword,
  };
}

/** Settings for the copy: one part per file, so that its Content-MD5 is the server's MD5. */
export const SINGLE_PART_ARGS = ['--s3-upload-cutoff', '5G'];
