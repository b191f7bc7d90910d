// Which of a backup's entries a restore writes, and where: `--path` (a file exactly, or a folder and
// everything below it) and `--to-path` (a folder of the PVC to put them in instead of over the live
// files). Pure: it takes the backup's objects and manifest, and says what goes to which PVC path.
import { UsageError } from '../errors.ts';
import type { BackupManifest, ManifestEntry } from '../store/manifest.ts';
import { pathOfObject } from '../store/object-keys.ts';

/** A volume path from `--path`/`--to-path`, in the manifest's form ("a/b": no "./", no trailing "/"). */
export function normalizeChosenPath(raw: string, flag: '--path' | '--to-path'): string {
  if (raw.startsWith('/'))
    throw new UsageError(
      `${flag} "${raw}" is not relative`,
      `give it relative to the volume's root, e.g. ${flag} ${raw.replace(/^\/+/, '') || 'data'}`,
    );
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..'))
    throw new UsageError(`${flag} "${raw}" holds ".."`, `give a path inside the volume, without ".."`);
  if (segments.length === 0)
    throw new UsageError(
      `${flag} "${raw}" names the volume's root`,
      flag === '--path' ? 'leave --path out to restore the whole backup' : 'name a folder, e.g. --to-path restored',
    );
  return segments.join('/');
}

/** Whether `path` is `chosen` or below it. */
export function isChosen(path: string, chosen: string[]): boolean {
  return chosen.some((c) => path === c || path.startsWith(`${c}/`));
}

export interface SelectedFile {
  /** Its path in the PVC (--to-path applied). */
  path: string;
  /** Its path in the backup (that of the object downloaded for it). */
  source: string;
  size: number;
}

/** A chosen name of a hard-linked file whose other names are not chosen. */
export interface SeparatedLink {
  path: string;
  partners: string[];
}

export interface Selection {
  /** Object key → the file it becomes (each object at most once). */
  files: Map<string, SelectedFile>;
  /** The manifest's entries that are written, at their PVC paths, links among chosen names only. */
  entries: ManifestEntry[];
  /** Folders of the manifest above the chosen paths, at their PVC paths (made when the PVC lacks them). */
  parents: ManifestEntry[];
  /** --path values that match nothing in the backup. */
  unmatched: string[];
  separated: SeparatedLink[];
}

/**
 * The entries of a backup a restore writes: all of them when `chosen` is empty, else those at or
 * below a chosen path. A hard-linked file whose first name (the one with an object) is not chosen
 * gets that object's bytes under its first chosen name; its other chosen names link to that one.
 */
export function selectEntries(
  objects: Map<string, { size: number }>,
  manifest: BackupManifest | undefined,
  chosen: string[],
  toPath?: string,
): Selection {
  const all = chosen.length === 0;
  const wanted = (path: string) => all || isChosen(path, chosen);
  const at = (path: string) => (toPath ? `${toPath}/${path}` : path);
  const files = new Map<string, SelectedFile>();
  const keyOf = new Map<string, string>();
  for (const [key, object] of objects) {
    const path = pathOfObject(key);
    keyOf.set(path, key);
    if (wanted(path)) files.set(key, { path: at(path), source: path, size: object.size });
  }
  const manifestEntries = manifest?.entries ?? [];
  const entries: ManifestEntry[] = [];
  const groups = new Map<string, ManifestEntry[]>();
  for (const entry of manifestEntries) {
    if (entry.link !== undefined) {
      const group = groups.get(entry.link) ?? [];
      group.push(entry);
      groups.set(entry.link, group);
    }
  }
  const byPath = new Map(manifestEntries.map((e) => [e.path, e]));
  // A link's new target: its first chosen name, where the first name is not chosen.
  const carrierOf = new Map<string, string>();
  const separated: SeparatedLink[] = [];
  for (const [first, others] of groups) {
    const names = [first, ...others.map((e) => e.path)];
    const picked = names.filter(wanted);
    if (picked.length === 0 || picked.length === names.length) continue;
    separated.push({ path: picked[0]!, partners: names.filter((n) => !wanted(n)) });
    if (wanted(first)) continue;
    const carrier = picked[0]!;
    carrierOf.set(first, carrier);
    const key = keyOf.get(first);
    const object = key === undefined ? undefined : objects.get(key);
    if (key !== undefined && object) files.set(key, { path: at(carrier), source: first, size: object.size });
  }
  for (const entry of manifestEntries) {
    if (!wanted(entry.path)) continue;
    const mapped: ManifestEntry = { ...entry, path: at(entry.path) };
    if (entry.link !== undefined) {
      const target = wanted(entry.link) ? entry.link : carrierOf.get(entry.link);
      if (target === entry.path || target === undefined) {
        delete mapped.link;
        const first = byPath.get(entry.link);
        if (first?.md5) mapped.md5 = first.md5;
      } else mapped.link = at(target);
    }
    entries.push(mapped);
  }
  const known = [...keyOf.keys(), ...byPath.keys()];
  const unmatched = chosen.filter((c) => !known.some((path) => isChosen(path, [c])));
  return { files, entries, parents: parentsOf(chosen, byPath, wanted, at), unmatched, separated };
}

/** The manifest's folders above the chosen paths that are not chosen themselves, outermost first. */
function parentsOf(
  chosen: string[],
  byPath: Map<string, ManifestEntry>,
  wanted: (path: string) => boolean,
  at: (path: string) => string,
): ManifestEntry[] {
  const parents = new Map<string, ManifestEntry>();
  for (const path of chosen) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      const entry = byPath.get(folder);
      if (entry?.type === 'dir' && !wanted(folder) && !parents.has(folder))
        parents.set(folder, { ...entry, path: at(folder) });
    }
  }
  return [...parents.values()].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
}
