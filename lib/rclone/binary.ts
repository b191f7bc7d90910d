// Finding the user's rclone and checking that its version is supported.
import { execa } from 'execa';
import { UserError } from '../errors.ts';

export const MIN_RCLONE = [1, 60] as const;
const INSTALL_HINT =
  'install rclone >= 1.60 (apt install rclone, brew install rclone, or https://rclone.org/install/) ' +
  'or pass --rclone PATH';

export interface RcloneBinary {
  path: string;
  version: string;
}

export function parseRcloneVersion(output: string): [number, number, number] | undefined {
  const match = /^rclone v(\d+)\.(\d+)\.(\d+)/m.exec(output);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** `rclone archive create` and `archive extract` came in 1.72. */
export const ARCHIVE_RCLONE = [1, 72] as const;

/** Whether an rclone version ("1.76.0") is at least `major.minor`. */
export function rcloneAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [have, haveMinor] = version.split('.').map(Number) as [number, number];
  return have > major || (have === major && haveMinor >= minor);
}

export async function findRclone(path = 'rclone'): Promise<RcloneBinary> {
  let output: string;
  try {
    output = (await execa(path, ['version'], { timeout: 20_000 })).stdout;
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ENOENT';
    throw new UserError(missing ? `rclone was not found (${path})` : `"${path} version" failed`, INSTALL_HINT, {
      cause: err,
    });
  }
  const version = parseRcloneVersion(output);
  if (!version) throw new UserError(`could not read the version of ${path}`, INSTALL_HINT);
  if (!rcloneAtLeast(version.join('.'), MIN_RCLONE)) {
    throw new UserError(`rclone ${version.join('.')} is too old (1.60 or newer is needed)`, INSTALL_HINT);
  }
  return { path, version: version.join('.') };
}
