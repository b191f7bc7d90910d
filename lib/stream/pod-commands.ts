// The helper pod's two questions, asked the same way by backup, restore and
// verify: what files the volume holds, and their MD5 sums.
import { Readable } from 'node:stream';
import type { KubeConnection } from '../kube/connection.ts';
import { HELPER_CONTAINER } from '../kube/helper-pod.ts';
import { captureFromPodOrFail } from './exec-channel.ts';
import { LIST_COMMAND, MD5_COMMAND, nulList, parseListing, parseMd5Output, type PodFile } from './pod-files.ts';

export interface PodTarget {
  namespace: string;
  pod: string;
  signal?: AbortSignal;
}

const UNREADABLE = 'check that the files are readable by the helper pod';

export async function listPodFiles(kube: KubeConnection, target: PodTarget): Promise<PodFile[]> {
  const stdout = await captureFromPodOrFail(
    kube,
    { ...target, container: HELPER_CONTAINER, command: LIST_COMMAND },
    { what: 'listing the volume', fix: UNREADABLE },
  );
  return parseListing(stdout.toString('utf8'));
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
  return parseMd5Output(stdout.toString('utf8'));
}
