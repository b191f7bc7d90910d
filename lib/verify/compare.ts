// verify: every object of a backup checked against its manifest (presence,
// size, MD5), and optionally the manifest against a live PVC hashed in a
// helper pod. The differences are printed; any makes the command fail.
import type { BackupManifest, ManifestEntry } from '../store/manifest.ts';
import { objectKey } from '../store/object-keys.ts';
import type { PodFile } from '../stream/pod-files.ts';
import { quoteEscapedBytes } from '../format/path-bytes.ts';

export interface Difference {
  kind: 'missing' | 'size' | 'checksum' | 'extra' | 'owner' | 'mode' | 'link';
  path: string;
  detail?: string;
}

export function compareWithManifest(
  manifest: BackupManifest,
  objects: Map<string, { size: number }>,
  md5: Map<string, string>,
): Difference[] {
  const differences: Difference[] = [];
  const expected = new Set<string>();
  for (const entry of manifest.entries) {
    if (entry.type === 'dir' || entry.link !== undefined) continue;
    const key = objectKey(entry);
    expected.add(key);
    const object = objects.get(key);
    if (!object) differences.push({ kind: 'missing', path: entry.path });
    else if (object.size !== entry.size)
      differences.push({
        kind: 'size',
        path: entry.path,
        detail: `manifest ${entry.size} bytes, destination ${object.size}`,
      });
    else if (entry.md5 && md5.get(key) && md5.get(key) !== entry.md5)
      differences.push({
        kind: 'checksum',
        path: entry.path,
        detail: `manifest ${entry.md5}, destination ${md5.get(key)}`,
      });
  }
  for (const key of objects.keys()) if (!expected.has(key)) differences.push({ kind: 'extra', path: key });
  return differences;
}

export function compareWithVolume(manifest: BackupManifest, files: PodFile[], md5: Map<string, string>): Difference[] {
  const differences: Difference[] = [];
  const live = new Map(files.map((f) => [f.path, f]));
  for (const entry of manifest.entries) {
    const file = live.get(entry.path);
    if (!file) differences.push({ kind: 'missing', path: entry.path, detail: 'not in the PVC' });
    else if (entry.type === 'file' && file.size !== entry.size)
      differences.push({ kind: 'size', path: entry.path, detail: `backup ${entry.size} bytes, PVC ${file.size}` });
    else if (entry.link !== undefined && live.get(entry.link)?.inode !== file.inode)
      differences.push({ kind: 'link', path: entry.path, detail: `not a hard link to "${entry.link}" in the PVC` });
    else if (entry.type === 'file' && entry.md5 && md5.get(entry.path) !== entry.md5)
      differences.push({ kind: 'checksum', path: entry.path, detail: "the PVC's file differs from the backup" });
    else if (manifest.owners) differences.push(...metadataDifferences(entry, file));
  }
  const inManifest = new Set(manifest.entries.map((e) => e.path));
  for (const file of files)
    if (!inManifest.has(file.path) && file.type !== 'other')
      differences.push({ kind: 'extra', path: file.path, detail: 'only in the PVC' });
  return differences;
}

/** Owner and mode (a symlink's mode means nothing), in manifests that recorded them. */
function metadataDifferences(entry: ManifestEntry, file: PodFile): Difference[] {
  const found: Difference[] = [];
  if (entry.uid !== file.uid || entry.gid !== file.gid)
    found.push({
      kind: 'owner',
      path: entry.path,
      detail: `backup ${entry.uid}:${entry.gid}, PVC ${file.uid}:${file.gid}`,
    });
  if (entry.type !== 'symlink' && entry.mode !== file.mode)
    found.push({ kind: 'mode', path: entry.path, detail: `backup ${octal(entry.mode)}, PVC ${octal(file.mode)}` });
  return found;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export function renderDifferences(differences: Difference[]): string {
  return differences
    .map((d) => `${d.kind.toUpperCase().padEnd(8)} ${quoteEscapedBytes(d.path)}${d.detail ? `  (${d.detail})` : ''}\n`)
    .join('');
}
