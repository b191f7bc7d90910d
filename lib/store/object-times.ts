// The objects of a backup with the mtimes a run's comparison needs, at the cost of a listing.
// On S3, rclone keeps an object's mtime in its metadata: reading it takes a HEAD request per
// object (10,000 objects: 5 s on the bed's server; far longer on a cloud's, and billed). The
// listing gives each object's MD5 for free (a single-part object's ETag), and the backup's
// manifest holds the mtime and MD5 of every file it wrote: where the two MD5s agree, the object
// is the one the manifest describes, and its mtime is the manifest's. Only the rest (no manifest,
// another MD5, no MD5 listed) are looked up object by object, as before.
import { listRemoteFiles, listRemoteObjects, type RemoteFile } from '../rclone/listing.ts';
import type { RcloneContext } from '../rclone/run.ts';
import { listsMd5s } from '../destination/destination.ts';
import { type BackupManifest, MANIFEST_NAME, readManifest, type ManifestEntry } from './manifest.ts';
import { objectKey } from './object-keys.ts';

/**
 * Every object below `path` (the manifest aside) with its size and mtime, and the manifest there, if any
 * (read once here: the run's own manifest takes the MD5s of unchanged files from it).
 */
export async function listWithMtimes(
  rclone: RcloneContext,
  path: string,
): Promise<{ files: Map<string, RemoteFile>; manifest?: BackupManifest }> {
  if (!listsMd5s(rclone.destination)) {
    const [files, manifest] = await Promise.all([listRemoteFiles(rclone, path), readManifest(rclone, path)]);
    files.delete(MANIFEST_NAME);
    return { files, manifest };
  }
  const [objects, manifest] = await Promise.all([listRemoteObjects(rclone, path, true), readManifest(rclone, path)]);
  objects.delete(MANIFEST_NAME);
  const { known, unknown } = mtimesFromManifest(objects, manifest?.entries ?? []);
  if (!unknown.length) return { files: known, manifest };
  // Many to look up: one listing with times is cheaper than a lookup by name each.
  const looked =
    unknown.length > objects.size / 2
      ? await listRemoteFiles(rclone, path)
      : await listRemoteFiles(rclone, path, unknown);
  for (const key of unknown) {
    const file = looked.get(key);
    if (file) known.set(key, file);
  }
  return { files: known, manifest };
}

/** The objects whose listed MD5 is the manifest's, with the manifest's mtime; the keys of the others. */
export function mtimesFromManifest(
  objects: Map<string, { size: number; md5: string }>,
  entries: ManifestEntry[],
): { known: Map<string, RemoteFile>; unknown: string[] } {
  const byKey = new Map(entries.filter((e) => e.type !== 'dir' && !e.link).map((e) => [objectKey(e), e]));
  const known = new Map<string, RemoteFile>();
  const unknown: string[] = [];
  for (const [key, object] of objects) {
    const entry = byKey.get(key);
    // A link's object holds its target; the manifest records no MD5 for it.
    const same =
      entry?.size === object.size && (entry.type === 'symlink' || (!!object.md5 && entry.md5 === object.md5));
    if (same) known.set(key, { size: object.size, mtime: entry.mtime });
    else unknown.push(key);
  }
  return { known, unknown };
}
