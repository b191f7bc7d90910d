// The helper pod's two questions, asked the same way by backup, restore and
// verify: what files the volume holds, and their MD5 sums.
import { Readable } from 'node:stream';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { captureFromPod, captureFromPodOrFail, stderrLastLine } from './exec-channel.ts';
import { LIST_COMMAND, MD5_COMMAND, nulList, parseListing, parseMd5Output, type PodListing } from './pod-files.ts';

export interface PodTarget {
  namespace: string;
  pod: string;
  signal?: AbortSignal;
}

const UNREADABLE = 'check that the files are readable by the helper pod';

export interface ListingResult extends PodListing {
  /** find's last error when it could not list everything (a folder it may not read), else undefined. */
  error?: string;
}

/** Everything find could list; `error` says when that is not everything. */
export async function listPodFiles(kube: KubeConnection, target: PodTarget): Promise<ListingResult> {
  const { stdout, result } = await captureFromPod(kube, {
    ...target,
    container: HELPER_CONTAINER,
    command: LIST_COMMAND,
  });
  const listing = parseListing(stdout);
  if (result.exitCode === 0) return listing;
  return { ...listing, error: stderrLastLine(result) || `exit code ${result.exitCode}` };
}

export async function hashPodFiles(
  kube: KubeConnection,
  target: PodTarget,
  paths: string[],
): Promise<Map<string, string>> {
  if (paths.length === 0) return new Map();
  const stdout = await captureFromPodOrFail(
    kube,
    { ...target, container: HELPER_CONTAINER, command: MD5_COMMAND, stdin: Readable.from([nulList(paths)]) },
    { what: 'md5sum', fix: UNREADABLE },
  );
  return parseMd5Output(stdout, paths);
}
