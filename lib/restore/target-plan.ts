// What a restore does to each path of the target PVC, found by comparing the entries it writes
// with the PVC's listing: `create` (nothing there), `overwrite` (something else there), `unchanged`
// (the same type, size, mtime, mode and owner: written again, to the same effect), and with
// --delete, `delete`. `restore --dry-run` prints it; a real run refuses overwrites without
// --overwrite from it. Pure.
import type { ManifestEntry } from '../store/manifest.ts';
import { LINK_SUFFIX } from '../store/object-keys.ts';
import type { PodFile } from '../stream/pod-files.ts';
import type { Selection } from './selection.ts';

export const PLAN_ACTIONS = ['create', 'overwrite', 'unchanged', 'delete'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlannedPath {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  action: PlanAction;
  /** A folder where a file or symlink goes, or the other way round: tar cannot write over it. */
  conflict?: boolean;
}

export interface TargetPlan {
  paths: PlannedPath[];
  counts: Record<PlanAction, number>;
  /** Folders above the chosen paths that the PVC lacks: made with the manifest's mode, owner and mtime. */
  parents: ManifestEntry[];
}

export interface PlanOptions {
  /** Whether the backup has a manifest (modes and mtimes to compare); without one, nothing is `unchanged`. */
  manifest: boolean;
  /** Whether owners are restored (and so compared). */
  keepOwners: boolean;
  /** --delete: files of the PVC the restore does not write are deleted. */
  deleteExtra: boolean;
}

/** `listing`: the PVC's entries now (empty for a PVC that is new or was never used). */
export function planTarget(selection: Selection, listing: PodFile[], options: PlanOptions): TargetPlan {
  const existing = new Map(listing.map((f) => [f.path, f]));
  const parents = selection.parents.filter((p) => !existing.has(p.path));
  const written: Array<Pick<ManifestEntry, 'path' | 'type' | 'size'> & Partial<ManifestEntry>> = options.manifest
    ? [...parents, ...selection.entries]
    : [...selection.files].map(([key, file]) => ({
        path: file.path,
        type: key.endsWith(LINK_SUFFIX) ? 'symlink' : 'file',
        size: file.size,
      }));
  const paths: PlannedPath[] = written.map((entry) => {
    const now = existing.get(entry.path);
    const action: PlanAction = !now
      ? 'create'
      : options.manifest && same(entry as ManifestEntry, now, existing, options.keepOwners)
        ? 'unchanged'
        : 'overwrite';
    const conflict = now !== undefined && (now.type === 'dir') !== (entry.type === 'dir');
    return { path: entry.path, type: entry.type, action, ...(conflict ? { conflict } : {}) };
  });
  if (options.deleteExtra) {
    const kept = new Set(written.map((e) => e.path));
    for (const file of listing)
      if (file.type !== 'dir' && !kept.has(file.path))
        paths.push({ path: file.path, type: file.type === 'symlink' ? 'symlink' : 'file', action: 'delete' });
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts = Object.fromEntries(PLAN_ACTIONS.map((a) => [a, 0])) as Record<PlanAction, number>;
  for (const p of paths) counts[p.action]++;
  return { paths, counts, parents };
}

/** Paths the restore would write over: files and symlinks that are there and differ (folders are merged into). */
export function overwrittenPaths(plan: TargetPlan): PlannedPath[] {
  return plan.paths.filter((p) => p.action === 'overwrite' && (p.type !== 'dir' || p.conflict));
}

function same(entry: ManifestEntry, now: PodFile, existing: Map<string, PodFile>, keepOwners: boolean): boolean {
  if (now.type !== entry.type) return false;
  if (keepOwners && (now.uid !== entry.uid || now.gid !== entry.gid)) return false;
  if (entry.type === 'symlink') return now.size === entry.size;
  if (now.mode !== entry.mode || now.mtime !== entry.mtime) return false;
  if (entry.type === 'dir') return true;
  if (entry.link !== undefined && existing.get(entry.link)?.inode !== now.inode) return false;
  return now.size === entry.size;
}
