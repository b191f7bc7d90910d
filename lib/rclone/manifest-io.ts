// Reading a backup's manifest from the destination.
import { parseManifest, MANIFEST_NAME, type BackupManifest } from '../backup/manifest.ts';
import { runRclone, type RcloneContext } from './run.ts';
import { joinRemote } from '../destination/destination.ts';

export async function readManifest(ctx: RcloneContext, folder: string): Promise<BackupManifest | undefined> {
  try {
    return parseManifest(
      await runRclone(ctx, ['cat', joinRemote(folder, MANIFEST_NAME)], { what: 'reading the backup manifest' }),
    );
  } catch {
    return undefined;
  }
}
