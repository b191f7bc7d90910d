// The large files of a restore --transport port-forward: the user's rclone copies them from the storage
// into the helper pod's WebDAV server (lib/rclone/pod-server.ts), reached through a port-forward, into
// a folder of the volume made for the run. The server's MD5 of each file (of the bytes it wrote) must
// be the one the backup recorded; only then does each get its owner, mode and mtime and its name
// (one rename), so a file never stands under its name unchecked or half written.
import { Readable } from 'node:stream';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { filesFromList, listRemoteObjects, type RemoteObject } from '../rclone/listing.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { UserError } from '../errors.ts';
import { type PodServer, SERVER_REMOTE, suitsServer } from '../rclone/pod-server.ts';
import { openServerRemote } from '../rclone/server-remote.ts';
import { captureFromPodOrFail } from '../stream/exec-channel.ts';
import { ContentMismatch } from '../stream/tar-in.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { SelectedFile } from './selection.ts';

/** A file the server takes: its object key, where it goes, and what the manifest says of it. */
export interface ServedFile {
  key: string;
  file: SelectedFile;
  entry: ManifestEntry;
}

/** Regular files with a recorded MD5 (to check what arrived), plain names, from SERVER_MIN_BYTES. */
export function serverRestoreFiles(files: Map<string, SelectedFile>, entries: Map<string, ManifestEntry>) {
  const served: ServedFile[] = [];
  for (const [key, file] of files) {
    const entry = entries.get(file.path);
    const plain = key === file.source && suitsServer(key, file.size) && suitsServer(file.path, file.size);
    if (plain && entry?.type === 'file' && entry.md5 && entry.link === undefined) served.push({ key, file, entry });
  }
  return served;
}

const INCOMING_PREFIX = '.datamover-incoming-';
/** An incoming folder's name: the prefix and a run id (randomBytes(3) in hex), as a regexp and a shell glob. */
const INCOMING_NAME = /^\.datamover-incoming-([0-9a-f]{6})$/;
const INCOMING_GLOB = `${INCOMING_PREFIX}${'[0-9a-f]'.repeat(6)}`;

/** The volume's folder (at its root) that the server writes into; removed once its files have their names. */
export function incomingFolder(runId: string): string {
  return `${INCOMING_PREFIX}${runId}`;
}

/**
 * A restore target's root, looked at before anything is written: the incoming folders there (not links to
 * folders), one per line, then `entries=N`, the count of all its entries (a name with a newline counts twice:
 * the safe way, it makes the root look fuller).
 */
export const TARGET_ROOT_CHECK = [
  `for d in ./${INCOMING_GLOB}; do if [ -d "$d" ] && [ ! -L "$d" ]; then echo "\${d#./}"; fi; done`,
  'echo "entries=$(ls -A | wc -l)"',
].join('\n');

export interface TargetRoot {
  /** The run ids of the incoming folders at the root. */
  incomingRuns: string[];
  /** Whether the root holds anything besides them. */
  othersThere: boolean;
}

/** TARGET_ROOT_CHECK's output; undefined when it was cut short (no count at its end). */
export function parseTargetRoot(output: string): TargetRoot | undefined {
  const lines = output.trim().split('\n');
  const count = /^entries=\s*(\d+)$/.exec(lines.pop() ?? '');
  if (!count) return undefined;
  const incomingRuns = lines.flatMap((line) => INCOMING_NAME.exec(line)?.[1] ?? []);
  return { incomingRuns, othersThere: Number(count[1]) > incomingRuns.length };
}

/** Removes the incoming folders of these runs (ended: TargetRoot's), failing if any cannot be removed. */
export function removeIncomingCommand(runIds: string[]): string[] {
  return ['rm', '-rf', '--', ...runIds.map((runId) => `./${incomingFolder(runId)}`)];
}

export interface ServerRestore {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  server: PodServer;
  /** The storage's context (its signal ends the copy). */
  rclone: RcloneContext;
  /** The backup's folder at the storage. */
  backupPath: string;
  files: ServedFile[];
  incoming: string;
  keepOwners: boolean;
  signal: AbortSignal;
  onProgress: (bytes: number) => void;
}

export async function restoreThroughServer(request: ServerRestore): Promise<void> {
  const remote = await openServerRemote(request);
  try {
    const keys = request.files.map((f) => f.key);
    await remote.explained(
      runRclone(
        remote.rclone,
        ['copy', request.backupPath, `${SERVER_REMOTE}:${request.incoming}`, '--files-from-raw', '-', '--no-traverse'],
        {
          input: filesFromList(keys),
          what: `copying ${keys.length} large files into the helper pod's server`,
          onProgress: request.onProgress,
        },
      ),
    );
    const arrived = await remote.explained(
      listRemoteObjects(remote.rclone, `${SERVER_REMOTE}:${request.incoming}`, true),
    );
    checkArrived(arrived, request);
  } finally {
    await remote.close();
  }
  await giveNames(request);
}

/** Each file as the server wrote it (`objects`, its listing): the backup's size and MD5, or the run fails. */
function checkArrived(objects: Map<string, RemoteObject>, request: ServerRestore): void {
  for (const { key, file, entry } of request.files) {
    const arrived = objects.get(key);
    if (!arrived || arrived.size !== file.size)
      throw new UserError(`"${file.path}" did not arrive whole in the helper pod`, 'run the restore again');
    if (arrived.md5 !== entry.md5) throw new ContentMismatch(file.path);
  }
}

/** Owner (when kept), mode and mtime, then one rename each to its name; the incoming folder removed. */
async function giveNames(request: ServerRestore): Promise<void> {
  const stdout = await captureFromPodOrFail(
    request.kube,
    {
      namespace: request.namespace,
      pod: request.pod,
      container: HELPER_CONTAINER,
      command: namingCommand(request.incoming, request.files.length),
      stdin: Readable.from([namingInput(request.files, request.keepOwners)]),
      signal: request.signal,
    },
    { what: 'giving restored files their names', fix: 'check that the PVC is writable, then run the restore again' },
  );
  if (!stdout.toString().endsWith(`${NAMED_END}\n`))
    throw new UserError(
      'giving restored files their names was cut short in the helper pod',
      'check the API server and the helper pod, then run the restore again',
    );
}

/** The end mark: the API server can report success for an exec it cut short. */
const NAMED_END = 'datamover-named';

/** The pod's command that names the `count` files of namingInput, run in the volume's root. */
export function namingCommand(incoming: string, count: number): string[] {
  // Plain names (rclone/pod-server.ts), each after "./": none reads as an option.
  const script = [
    `in=./${incoming}; named=0`,
    `while IFS= read -r -d '' key && IFS= read -r -d '' to && IFS= read -r -d '' mode &&`,
    `  IFS= read -r -d '' mtime && IFS= read -r -d '' owner; do`,
    `  case "$to" in */*) mkdir -p "./\${to%/*}" || exit 1 ;; esac`,
    '  if [ -n "$owner" ]; then chown "$owner" "$in/$key" || exit 1; fi',
    // -T: a folder (or a link to one) under the name is refused, never moved into.
    '  chmod "$mode" "$in/$key" && touch -c -d "@$mtime" "$in/$key" && mv -f -T "$in/$key" "./$to" || exit 1',
    '  named=$((named + 1))',
    'done',
    // A list cut short ends the loop as its end would: the folder goes only once every file has its name.
    `[ "$named" -eq ${count} ] || { echo "only $named of ${count} files were named" >&2; exit 1; }`,
    `rm -rf "$in" && echo ${NAMED_END}`,
  ].join('\n');
  return ['sh', '-c', script];
}

/** Five NUL-ended fields per file: its key (in the incoming folder), name, octal mode, mtime, uid:gid or "". */
export function namingInput(files: ServedFile[], keepOwners: boolean): Buffer {
  const fields = files.flatMap(({ key, file, entry }) => [
    key,
    file.path,
    (entry.mode & 0o7777).toString(8),
    String(entry.mtime),
    keepOwners ? `${entry.uid}:${entry.gid}` : '',
  ]);
  return Buffer.from(fields.map((field) => `${field}\0`).join(''));
}

/**
 * Removes the incoming folders of these runs: a run's own when it failed before its files had their names,
 * or those that killed runs left (leftByKilledRuns).
 */
export async function removeIncoming(
  target: Pick<ServerRestore, 'kube' | 'namespace' | 'pod'>,
  runIds: string[],
  signal: AbortSignal,
): Promise<void> {
  const folders = runIds.map(incomingFolder).join(', ');
  await captureFromPodOrFail(
    target.kube,
    {
      namespace: target.namespace,
      pod: target.pod,
      container: HELPER_CONTAINER,
      command: removeIncomingCommand(runIds),
      signal,
    },
    { what: `removing ${folders}`, fix: `remove ${folders} from the PVC` },
  );
}
