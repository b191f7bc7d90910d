// A helper pod that can read every file of a volume, and what it listed. With --run-as auto it
// starts as nobody (enough for most volumes) and, when the listing shows files nobody may read,
// starts a second one as root with DAC_OVERRIDE alone. A volume that cannot be read whole stops
// the run before anything is sent: a backup that skipped unreadable files would not be complete.
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { isPodSecurityRefusal } from '../kube/api-errors.ts';
import { describePrivilege, type HelperPrivilege, NOBODY, READ_ANY_FILE } from '../kube/helper-pod.ts';
import type { RunAs } from '../kube/helper-pod-options.ts';
import { type ListingResult, listPodFiles } from '../stream/pod-commands.ts';
import { type PodFile, unreadableInListing } from '../stream/pod-files.ts';
import { formatBytes } from '../format/size.ts';
import type { Flow } from './runner.ts';

export interface VolumeReader {
  pod: string;
  listing: ListingResult;
  privilege: HelperPrivilege;
}

export interface ReaderRequest {
  namespace: string;
  runAs: RunAs;
  /** Starts a helper pod with this privilege (`attempt` 0, then 1 for the second one); its name. */
  start(privilege: HelperPrivilege, attempt: number): Promise<string>;
  /** Ends a helper pod that is not needed any more. */
  stop(pod: string): Promise<void>;
}

export async function startVolumeReader(
  kube: KubeConnection,
  flow: Flow,
  request: ReaderRequest,
): Promise<VolumeReader> {
  const first = firstPrivilege(request.runAs);
  let reader = await startAndList(kube, flow, request, first, 0);
  let blocked = blockedEntries(reader);
  if (blocked && request.runAs.kind === 'auto') {
    await request.stop(reader.pod);
    try {
      reader = await startAndList(kube, flow, request, READ_ANY_FILE, 1);
    } catch (err) {
      if (isPodSecurityRefusal(err)) throw cannotRead(blocked, first, podSecurityFix(request.namespace, err));
      throw err;
    }
    blocked = blockedEntries(reader);
  }
  if (blocked) throw cannotRead(blocked, reader.privilege, runAsFix(request.runAs));
  return reader;
}

function firstPrivilege(runAs: RunAs): HelperPrivilege {
  if (runAs.kind === 'root') return READ_ANY_FILE;
  if (runAs.kind === 'user') return { kind: 'user', uid: runAs.uid, gid: runAs.gid };
  return NOBODY;
}

async function startAndList(
  kube: KubeConnection,
  flow: Flow,
  request: ReaderRequest,
  privilege: HelperPrivilege,
  attempt: number,
): Promise<VolumeReader> {
  const title = attempt === 0 ? 'Start the helper pod' : 'Start a helper pod that can read every file';
  const pod = await flow.step(
    title,
    () => request.start(privilege, attempt),
    (name) => `${name} (${describePrivilege(privilege)})`,
  );
  const listing = await flow.step(
    'List the files in the volume',
    () => listPodFiles(kube, { namespace: request.namespace, pod, signal: flow.signal }),
    describeListing,
  );
  return { pod, listing, privilege };
}

function describeListing(listing: ListingResult): string {
  const files = listing.files.filter((f) => f.type !== 'dir');
  const bytes = files.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0);
  return `${files.length} files, ${formatBytes(bytes)}`;
}

interface Blocked {
  entries: PodFile[];
  /** find's own error, when it could not list something the modes do not explain (an ACL, say). */
  error?: string;
}

function blockedEntries(reader: VolumeReader): Blocked | undefined {
  const { privilege, listing } = reader;
  const who =
    privilege.kind === 'root'
      ? { uid: 0, gid: 0, readsAll: privilege.capabilities.includes('DAC_OVERRIDE') }
      : { uid: privilege.uid, gid: privilege.gid };
  const entries = unreadableInListing(listing, who);
  if (!listing.root) return { entries, error: listing.error ?? 'the volume root could not be listed' };
  if (entries.length === 0 && !listing.error) return undefined;
  return { entries, error: listing.error };
}

function cannotRead(blocked: Blocked, privilege: HelperPrivilege, fix: string): UserError {
  const first = blocked.entries[0];
  const count = blocked.entries.length;
  const what = first
    ? `${count} ${count === 1 ? 'entry' : 'entries'} of the volume cannot be read as ${describePrivilege(privilege)} ` +
      `(first: "${first.path || '.'}", ${describeOwner(first)})`
    : `the volume cannot be listed whole as ${describePrivilege(privilege)} (${blocked.error})`;
  return new UserError(`${what}; nothing was sent`, fix);
}

function describeOwner(file: PodFile): string {
  const kind = file.type === 'dir' ? 'a folder' : 'a file';
  return `${kind} of ${file.uid}:${file.gid}, mode ${file.mode.toString(8).padStart(4, '0')}`;
}

function podSecurityFix(namespace: string, err: unknown): string {
  const level = /PodSecurity "(\w+)/.exec(String((err as Error).message))?.[1] ?? 'restricted';
  return (
    `namespace "${namespace}" enforces Pod Security "${level}", which refuses a helper pod running as root: ` +
    `label it pod-security.kubernetes.io/enforce=baseline, or pass --run-as UID[:GID] of the files' owner`
  );
}

function runAsFix(runAs: RunAs): string {
  return runAs.kind === 'root'
    ? 'check the files with kubectl exec (an ACL or a security module may refuse root)'
    : 'pass --run-as auto (or root) to read every file, or --run-as the UID[:GID] that owns them';
}
