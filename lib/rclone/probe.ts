// Storage probes with rclone: can the destination be listed, written and
// deleted from? Run before any cluster object is made (and by check).
import { randomBytes } from 'node:crypto';
import { joinRemote } from '../destination/destination.ts';
import { runRclone, type RcloneContext } from './run.ts';

/** Lists the destination and writes then deletes a small object in it. */
export async function checkDestinationWritable(rclone: RcloneContext): Promise<void> {
  await checkDestinationListable(rclone);
  await checkWriteAndDelete(rclone);
}

// A check should fail fast: rclone's default retries take most of a minute on a bad endpoint.
const FAIL_FAST = ['--retries', '1', '--low-level-retries', '1'];

/** The rclone commands of the checks, run here and (check --in-cluster) in a pod. */
export const probeCommands = {
  list: (root: string) => ['lsf', '--max-depth', '1', ...FAIL_FAST, root],
  /** rcat reads the probe's content from stdin. */
  write: (probe: string) => ['rcat', ...FAIL_FAST, probe],
  delete: (probe: string) => ['deletefile', ...FAIL_FAST, probe],
};
export const PROBE_CONTENT = 'kubectl-datamover write check\n';

export async function checkDestinationListable(rclone: RcloneContext): Promise<void> {
  await runRclone(rclone, probeCommands.list(rclone.destination.root), {
    what: `reading ${rclone.destination.display}`,
  });
}

export function writeProbePath(root: string): string {
  return joinRemote(root, `.datamover-write-check-${randomBytes(4).toString('hex')}`);
}

export async function checkWriteAndDelete(rclone: RcloneContext): Promise<void> {
  const probe = writeProbePath(rclone.destination.root);
  await runRclone(rclone, probeCommands.write(probe), {
    input: PROBE_CONTENT,
    what: `writing to ${rclone.destination.display}`,
  });
  await runRclone(rclone, probeCommands.delete(probe), { what: `deleting from ${rclone.destination.display}` });
}
