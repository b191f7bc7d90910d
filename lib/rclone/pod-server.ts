// --transport port-forward: the helper pod runs rclone's WebDAV server of the volume (on the pod's
// loopback only, behind a password made for the run), and the user's rclone copies the large files
// between it and the storage through a port-forward: no JavaScript in their data path. The server
// gives the MD5 of each file it holds (read from the volume), which the copy and the caller check.
// Everything else (small files, symlinks, names rclone would re-encode) takes the exec tar stream.
import { createHash, randomBytes } from 'node:crypto';
import type { HelperServer } from '../kube/helper-pod.ts';
import { UsageError } from '../errors.ts';

/** rclone's own image, at the version the plugin is tested with. */
export const DEFAULT_SERVER_IMAGE = 'docker.io/rclone/rclone:1.76';
export const SERVER_PORT = 8080;
const SERVER_USER = 'datamover';
/** An emptyDir for the password file: the image's root file system is read-only. */
export const SERVER_SCRATCH = '/run/datamover';
/** Below this a file costs more in requests than in bytes: it takes the tar stream. */
export const SERVER_MIN_BYTES = 16 * 1024 * 1024;
/** Names that rclone's WebDAV and S3 backends keep as they are: printable ASCII without "\\". */
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]+$/;

/** Whether the server may carry a file of this name and size. */
export function suitsServer(path: string, size: number): boolean {
  return size >= SERVER_MIN_BYTES && PLAIN_NAME.test(path);
}

/** The helper container's command and environment (a hash of the password, not the password). */
export interface PodServer extends HelperServer {
  /** The run's password: only in the plugin's memory and, obscured, in rclone's environment. */
  password: string;
}

/**
 * A server of the volume: read-only for a backup; writable for a restore, whose container removes the folder
 * `incoming` (relative to the volume) once the server has stopped, when its pod is deleted. A write still on
 * its way when a run ends (a request in the port-forward's buffers, a file the server has open) can make the
 * folder again after any removal done while the server runs; none can after it stopped.
 */
export function newPodServer(access: 'read-only'): PodServer;
export function newPodServer(access: 'writable', incoming: string): PodServer;
export function newPodServer(access: 'read-only' | 'writable', incoming?: string): PodServer {
  const password = randomBytes(24).toString('base64url');
  const sha1 = createHash('sha1').update(password).digest('base64');
  const htpasswd = `${SERVER_SCRATCH}/htpasswd`;
  const address = `127.0.0.1:${SERVER_PORT}`;
  const readOnly = access === 'read-only' ? ' --read-only' : '';
  const serve = `rclone serve webdav . --addr ${address}${readOnly} --etag-hash MD5 --htpasswd ${htpasswd}`;
  const setup = `umask 077 && printf '%s\\n' "$DATAMOVER_HTPASSWD" > ${htpasswd}`;
  return {
    password,
    command: [
      'sh',
      '-c',
      incoming === undefined ? `${setup} && exec ${serve}` : serveThenRemove(setup, serve, incoming),
    ],
    env: [{ name: 'DATAMOVER_HTPASSWD', value: `${SERVER_USER}:{SHA}${sha1}` }],
    port: SERVER_PORT,
    scratch: SERVER_SCRATCH,
  };
}

/**
 * The container's script: the server in the background, stopped by the container's SIGTERM (the shell is the
 * container's pid 1, which gets it), waited for until it has exited, then the folder removed.
 */
function serveThenRemove(setup: string, serve: string, incoming: string): string {
  return [
    `${setup} || exit 1`,
    'trap \'stopping=1; kill -TERM "$server" 2>/dev/null\' TERM INT',
    `${serve} &`,
    'server=$!',
    // A signal that came before the server's pid was known stops it now.
    '[ -z "$stopping" ] || kill -TERM "$server"',
    // The first wait ends when a signal comes; the second lasts until the server has exited.
    'status=0',
    'wait "$server" || status=$?',
    'wait "$server" 2>/dev/null',
    `rm -rf -- ./${incoming}`,
    'exit "$status"',
  ].join('\n');
}

/** The rclone remote (by its environment) that reaches the server through the local port. */
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

/** How a command's data crosses between the helper pod and the user's machine (--transport). */
export type Transport = 'exec' | 'port-forward';

/** --transport, validated; with port-forward the helper's image is rclone's unless --helper-image names one. */
export function transportChoice<H extends { image: string }>(
  flag: string | undefined,
  helper: H,
  imageGiven: boolean,
): { transport: Transport; helper: H } {
  const transport = flag ?? 'exec';
  if (transport !== 'exec' && transport !== 'port-forward')
    throw new UsageError(`--transport "${transport}" is not exec or port-forward`, 'pass one of them');
  const serverImage = transport === 'port-forward' && !imageGiven;
  return { transport, helper: serverImage ? { ...helper, image: DEFAULT_SERVER_IMAGE } : helper };
}
