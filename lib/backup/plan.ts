// What a run must do, from the pod-side listing and the destination's: which
// files cross the link, which are already there (or can be copied server-side
// from the previous timestamp folder), and which destination files are gone
// from the volume.
import { hardLinkTargets, type PodFile } from '../stream/pod-files.ts';
import type { RemoteFile } from '../rclone/listing.ts';
import { MANIFEST_NAME } from '../store/manifest.ts';
import { objectKey, pathOfObject } from '../store/object-keys.ts';
import { type CompiledFilters, keepsFile } from '../rclone/filters.ts';

export interface TransferPlan {
  send: PodFile[];
  /** Unchanged since the previous backup: copied server-side into the new folder. */
  seed: string[];
  /** Unchanged at the target itself: nothing to do. */
  unchanged: PodFile[];
  /** Object keys at the target that the volume no longer has (and the filters do not exclude). */
  delete: string[];
  skippedTypes: PodFile[];
  /** Further names of a hard-linked file: not stored, the manifest links them to the first. */
  links: Map<string, string>;
}

function sameAs(file: PodFile, remote: RemoteFile | undefined): boolean {
  if (!remote || remote.size !== file.size) return false;
  // A link's object holds its target: same length is the same link often
  // enough, and links are tiny, so compare mtimes only for files.
  return file.type === 'symlink' || remote.mtime === file.mtime;
}

export function planTransfer(
  files: PodFile[],
  target: Map<string, RemoteFile>,
  previous?: Map<string, RemoteFile>,
  filters?: CompiledFilters,
): TransferPlan {
  const links = hardLinkTargets(files);
  const plan: TransferPlan = { send: [], seed: [], unchanged: [], delete: [], skippedTypes: [], links };
  const keep = new Set<string>();
  for (const file of files) {
    if (file.type === 'dir' || links.has(file.path)) continue;
    if (file.type === 'other') {
      plan.skippedTypes.push(file);
      continue;
    }
    const key = objectKey(file);
    keep.add(key);
    if (sameAs(file, target.get(key))) plan.unchanged.push(file);
    else if (previous && sameAs(file, previous.get(key))) plan.seed.push(key);
    else plan.send.push(file);
  }
  keep.add(MANIFEST_NAME);
  // As rclone sync, what the filters exclude is left alone at the destination.
  for (const key of target.keys())
    if (!keep.has(key) && (!filters || keepsFile(filters, pathOfObject(key)))) plan.delete.push(key);
  return plan;
}
