// The large files of a backup --transport port-forward: the user's rclone copies them from the helper
// pod's WebDAV server (lib/rclone/pod-server.ts), reached through a port-forward, to the bucket. Each
// goes up in one part with the server's MD5 of it as Content-MD5, so the storage itself refuses bytes
// that differ from the file in the pod.
import type { KubeConnection } from '../kube/connection.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { filesFromList, listRemoteObjects, type RemoteObject } from '../rclone/listing.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { UserError } from '../errors.ts';
import { transferFraction, transferLine } from '../progress/transfer-progress.ts';
import type { Report } from '../progress/renderer.ts';
import { type PodServer, SERVER_REMOTE, suitsServer } from '../rclone/pod-server.ts';
import { openServerRemote } from '../rclone/server-remote.ts';

/** S3's largest single-part upload. */
const SINGLE_PART_MAX_BYTES = 5 * 1024 ** 3;

/** Settings for the copy: one part per file, so that its Content-MD5 is the server's MD5. */
const SINGLE_PART_ARGS = ['--s3-upload-cutoff', '5G'];

/** The files the server sends: regular, plain-named, from SERVER_MIN_BYTES up to a single part's limit. */
export function serverFiles(files: PodFile[]): PodFile[] {
  return files.filter((f) => f.type === 'file' && suitsServer(f.path, f.size) && f.size < SINGLE_PART_MAX_BYTES);
}

export interface ServerTransfer {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  server: PodServer;
  files: PodFile[];
  rclone: RcloneContext;
  target: string;
  signal: AbortSignal;
  report: Report;
  /** How long the server may take to answer once its pod is Ready. */
  startTimeoutMs?: number;
}

/** Copies the files; the MD5 of each (the storage's, which it checked against the server's). */
export async function copyFromServer(request: ServerTransfer): Promise<Map<string, string>> {
  const remote = await openServerRemote(request);
  try {
    const names = request.files.map((f) => f.path);
    const totalBytes = request.files.reduce((sum, f) => sum + f.size, 0);
    const started = Date.now();
    const report = (doneBytes: number) => {
      const counts = {
        totalBytes,
        doneBytes,
        arrivedBytes: doneBytes,
        totalFiles: names.length,
        elapsedMs: Date.now() - started,
        doneVerb: 'uploaded from the pod’s server',
      };
      request.report(transferLine(counts), transferFraction(counts));
    };
    await remote.explained(
      runRclone(
        remote.rclone,
        // --no-check-dest: the plan says these are to be sent; no setting of the user's (--size-only, a
        // --ignore-existing) may leave an older object standing in for one.
        ['copy', `${SERVER_REMOTE}:`, request.target, '--files-from-raw', '-', '--no-check-dest', ...SINGLE_PART_ARGS],
        {
          input: filesFromList(names),
          what: `copying ${names.length} large files from the helper pod's server`,
          onProgress: report,
        },
      ),
    );
    const [served, stored] = await remote.explained(
      Promise.all([
        listRemoteObjects(remote.rclone, `${SERVER_REMOTE}:`, true, names),
        listRemoteObjects(request.rclone, request.target, true, names),
      ]),
    );
    return sameMd5s(request.files, served, stored);
  } finally {
    await remote.close();
  }
}

/** Each file's MD5, which the pod's server and the storage (an ETag: each went in one part) must both give. */
function sameMd5s(files: PodFile[], served: Map<string, RemoteObject>, stored: Map<string, RemoteObject>) {
  const md5s = new Map<string, string>();
  for (const file of files) {
    const [pod, object] = [served.get(file.path), stored.get(file.path)];
    if (object && object.size === file.size && !object.md5)
      throw new UserError(
        `the storage gives no MD5 of "${file.path}" (server-side encryption, or checksums turned off, in its ` +
          'settings): the pod’s file cannot be checked against it',
        'leave out --transport port-forward for this destination',
      );
    if (!object?.md5 || object.size !== file.size || !pod?.md5 || pod.md5 !== object.md5)
      throw new UserError(
        `"${file.path}" is missing at the destination or differs from the file in the pod`,
        'run the backup again',
      );
    md5s.set(file.path, object.md5);
  }
  return md5s;
}
