// What S3 cannot hold, written next to each backup: folder list (empty ones
// included), modes, owners and mtimes of everything, which entries are symlinks
// and hard links, and the MD5 the pod computed for the files sent in the run.
// Restore applies it.
import { Readable } from 'node:stream';
import { hardLinkTargets, type PodFile } from '../stream/pod-files.ts';
import { joinRemote } from '../destination/destination.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import type { RemoteFile } from '../rclone/listing.ts';
import { LINK_SUFFIX, pathOfObject } from './object-keys.ts';

export const MANIFEST_NAME = '.datamover-manifest.json';

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: number;
  size: number;
  md5?: string;
  /** Numeric owner and group (in manifests with `owners`). */
  uid?: number;
  gid?: number;
  /** A further name of a hard-linked file: the entry it is linked to (it has no object of its own). */
  link?: string;
}

export interface BackupManifest {
  version: 1;
  createdAt: string;
  namespace: string;
  pvc: string;
  /** Whether entries carry uid and gid (manifests of older versions of the plugin do not). */
  owners?: boolean;
  /** The backup's filter flags as given (`["--include", "*.txt"]`): it holds only what they keep. */
  filters?: string[];
  /** The same, as the rules rclone compiled them (`file + (^|/)[^/]*\\.txt$`), to compare two runs'. */
  filterRules?: string[];
  entries: ManifestEntry[];
}

type ManifestMeta = Pick<BackupManifest, 'createdAt' | 'namespace' | 'pvc' | 'filters' | 'filterRules'>;

/** Everything but the entries of a backup's manifest. */
export type ManifestHead = Omit<BackupManifest, 'entries'>;

export function manifestHead(meta: ManifestMeta): ManifestHead {
  return { version: 1, ...meta, owners: true };
}

/** The manifest entries of `files`, made one at a time: a backup writes them without holding them all. */
export function* manifestEntries(files: PodFile[], md5: Map<string, string>): Generator<ManifestEntry> {
  const links = hardLinkTargets(files);
  for (const f of files) {
    if (f.type === 'other') continue;
    const { path, type, mode, mtime, size, uid, gid } = f;
    const entry: ManifestEntry = { path, type, mode, mtime, size, uid, gid };
    const link = links.get(f.path);
    const sum = md5.get(f.path);
    if (link !== undefined) entry.link = link;
    else if (sum !== undefined) entry.md5 = sum;
    yield entry;
  }
}

export function buildManifest(files: PodFile[], md5: Map<string, string>, meta: ManifestMeta): BackupManifest {
  return { ...manifestHead(meta), entries: [...manifestEntries(files, md5)] };
}

export function parseManifest(text: string): BackupManifest {
  const manifest = JSON.parse(text) as BackupManifest | null;
  if (manifest?.version !== 1 || !Array.isArray(manifest.entries)) throw new Error('unknown manifest format');
  return manifest;
}

/** The manifest of the backup in `folder`, or undefined when it has none (or it cannot be read). */
export async function readManifest(ctx: RcloneContext, folder: string): Promise<BackupManifest | undefined> {
  try {
    return parseManifest(
      await runRclone(ctx, ['cat', joinRemote(folder, MANIFEST_NAME)], { what: 'reading the backup manifest' }),
    );
  } catch {
    return undefined;
  }
}

export async function writeManifest(
  ctx: RcloneContext,
  folder: string,
  head: ManifestHead,
  entries: Iterable<ManifestEntry>,
): Promise<void> {
  await runRclone(ctx, ['rcat', joinRemote(folder, MANIFEST_NAME)], {
    input: Readable.from(manifestJson(head, entries)),
    what: 'writing the backup manifest',
  });
}

/** Entries per piece of manifestJson. */
const JSON_PIECE_ENTRIES = 1000;

/**
 * The manifest as JSON, its entries last (the text JSON.stringify gives for buildManifest's), in pieces of
 * JSON_PIECE_ENTRIES entries: the text of 100,000 entries (about 12 MB) is never held whole.
 */
export function* manifestJson(head: ManifestHead, entries: Iterable<ManifestEntry>): Generator<string> {
  yield `${JSON.stringify(head).slice(0, -1)},"entries":[`;
  let piece: string[] = [];
  let first = true;
  for (const entry of entries) {
    piece.push(JSON.stringify(entry));
    if (piece.length < JSON_PIECE_ENTRIES) continue;
    yield `${first ? '' : ','}${piece.join(',')}`;
    first = false;
    piece = [];
  }
  if (piece.length) yield `${first ? '' : ','}${piece.join(',')}`;
  yield ']}';
}

/**
 * What can be known of a backup that has no manifest (the operator writes none):
 * its objects' paths, sizes, mtimes and MD5s, and the folders that hold them.
 * Modes, owners, empty folders and symlinks the operator skipped are not there.
 */
export function manifestFromObjects(objects: Map<string, RemoteFile>, md5: Map<string, string>): BackupManifest {
  const entries: ManifestEntry[] = [];
  const folders = new Set<string>();
  for (const [key, object] of objects) {
    const path = pathOfObject(key);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    const type = key.endsWith(LINK_SUFFIX) ? 'symlink' : 'file';
    const sum = md5.get(key);
    entries.push({ path, type, mode: 0, mtime: object.mtime, size: object.size, ...(sum ? { md5: sum } : {}) });
  }
  for (const path of folders) entries.push({ path, type: 'dir', mode: 0, mtime: 0, size: 0 });
  return { version: 1, createdAt: '', namespace: '', pvc: '', entries };
}
