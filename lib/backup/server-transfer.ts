// The large files of a backup --transport port-forward: the user's rclone copies them from the helper
// pod's WebDAV server (lib/backup/pod-server.ts), reached through a port-forward, to the bucket.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from '../kube/connection.ts';
import { forwardPort, type LocalPort } from '../kube/port-forward.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { filesFromList, parseLsfObjects } from '../rclone/listing.ts';
import { runRclone, runRcloneForBytes, type RcloneContext } from '../rclone/run.ts';
import { UserError } from '../errors.ts';
import { transferFraction, transferLine } from '../progress/transfer-progress.ts';
import type { Report } from '../progress/renderer.ts';
import { type PodServer, SERVER_REMOTE, serverRemoteEnv, SINGLE_PART_ARGS } from './pod-server.ts';

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
  const local = await forwardPort(request.kube, {
    namespace: request.namespace,
    pod: request.pod,
    port: request.server.port,
  });
  try {
    await waitForServer(request, local);
    const obscured = (
      await runRclone(request.rclone, ['obscure', '-'], { input: request.server.password, what: 'preparing rclone' })
    ).trim();
    // The password goes with the destination's settings: kept out of argv, redacted from rclone's log.
    const env = serverRemoteEnv(local.port, obscured);
    const destination = { ...request.rclone.destination, env: { ...request.rclone.destination.env, ...env } };
    const rclone = { ...request.rclone, destination };
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
    await runRclone(
      rclone,
      ['copy', `${SERVER_REMOTE}:`, request.target, '--files-from-raw', '-', '--no-traverse', ...SINGLE_PART_ARGS],
      {
        input: filesFromList(names),
        what: `copying ${names.length} large files from the helper pod's server`,
        onProgress: report,
      },
    ).catch((err: unknown) => {
      const cut = local.lastError();
      throw cut && err instanceof UserError ? new UserError(`${err.message} (port-forward: ${cut})`, err.fix) : err;
    });
    return await storedMd5s(request.rclone, request.target, request.files);
  } finally {
    await local.close();
  }
}

/** The pod is Ready once its server process started, which may not listen yet: wait until it answers. */
async function waitForServer(request: ServerTransfer, local: LocalPort): Promise<void> {
  const deadline = Date.now() + (request.startTimeoutMs ?? 20_000);
  for (;;) {
    request.signal.throwIfAborted();
    const answered = await fetch(`http://127.0.0.1:${local.port}/`, { method: 'OPTIONS', signal: request.signal })
      .then((response) => response.body?.cancel().then(() => true) ?? true)
      .catch(() => false);
    if (answered) return;
    if (Date.now() > deadline)
      throw new UserError(
        `the helper pod's rclone server did not answer on port ${request.server.port}` +
          `${local.lastError() ? ` (${local.lastError()})` : ''}`,
        '--transport port-forward needs an image with rclone (--helper-image); or leave out --transport',
      );
    await sleep(250, undefined, { signal: request.signal });
  }
}

/** The MD5 of each copied object (its ETag: each went in one part), which must be there at its size. */
async function storedMd5s(rclone: RcloneContext, target: string, files: PodFile[]): Promise<Map<string, string>> {
  const args = ['lsf', '-R', '--files-only', '--format', 'shp', '--separator', ';', '--files-from-raw', '-', target];
  const input = filesFromList(files.map((f) => f.path));
  const objects = parseLsfObjects(await runRcloneForBytes(rclone, args, { what: `listing ${target}`, input }), true);
  const md5s = new Map<string, string>();
  for (const file of files) {
    const object = objects.get(file.path);
    if (!object?.md5 || object.size !== file.size)
      throw new UserError(`"${file.path}" is missing or has the wrong size at the destination`, 'run the backup again');
    md5s.set(file.path, object.md5);
  }
  return md5s;
}
