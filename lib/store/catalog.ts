// The backups at a destination: the plain sync target (the root) and every
// YYYY-MM-DD-HHMMSS/ folder, with their size and whether a manifest is there.
import { UserError } from '../errors.ts';
import { joinRemote, listsMd5s, TIMESTAMP_FOLDER_PATTERN, type Destination } from '../destination/destination.ts';
import { MANIFEST_NAME } from './manifest.ts';
import { listRemoteObjects, type RemoteObject } from '../rclone/listing.ts';
import type { RcloneContext } from '../rclone/run.ts';

export interface Backup {
  name: string;
  /** rclone path of the backup's root. */
  path: string;
  time?: string;
  files: number;
  bytes: number;
  manifest: boolean;
  /** Sizes, and MD5s where the listing gives them (listsMd5s); no mtimes, which cost a request each on S3. */
  objects: Map<string, RemoteObject>;
}

export function timestampToIso(folder: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(folder)!;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

export async function listBackups(rclone: RcloneContext, destination: Destination): Promise<Backup[]> {
  const all = await listRemoteObjects(rclone, destination.root, listsMd5s(destination));
  const groups = new Map<string, Map<string, RemoteObject>>();
  for (const [key, file] of all) {
    const [first, ...rest] = key.split('/');
    const stamped = rest.length > 0 && TIMESTAMP_FOLDER_PATTERN.test(first!);
    const name = stamped ? first! : 'plain';
    const relative = stamped ? rest.join('/') : key;
    if (!groups.has(name)) groups.set(name, new Map());
    groups.get(name)!.set(relative, file);
  }
  return [...groups.entries()]
    .map(([name, objects]) => {
      const manifest = objects.has(MANIFEST_NAME);
      objects.delete(MANIFEST_NAME);
      return {
        name,
        path: name === 'plain' ? destination.root : joinRemote(destination.root, name),
        time: name === 'plain' ? undefined : timestampToIso(name),
        files: objects.size,
        bytes: [...objects.values()].reduce((sum, f) => sum + f.size, 0),
        manifest,
        objects,
      };
    })
    .sort((a, b) => (a.name === 'plain' ? -1 : b.name === 'plain' ? 1 : a.name.localeCompare(b.name)));
}

/** --from latest | YYYY-MM-DD-HHMMSS | plain */
export function chooseBackup(backups: Backup[], from: string, display: string): Backup {
  const stamped = backups.filter((b) => b.name !== 'plain');
  const chosen = from === 'latest' ? stamped.at(-1) : backups.find((b) => b.name === from);
  if (chosen) return chosen;
  const known = backups.map((b) => b.name).join(', ') || 'none';
  if (from === 'latest')
    throw new UserError(
      `there is no timestamped backup at ${display}`,
      `pass --from plain, or one of: ${known} (and --encrypt if the backups were encrypted)`,
    );
  throw new UserError(
    `there is no backup "${from}" at ${display}`,
    `pass --from latest, plain or one of: ${known} (and --encrypt if the backups were encrypted)`,
  );
}
