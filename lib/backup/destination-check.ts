// Resolving the destination of a local-mode run (the operator's Secret or the
// user's rclone remote) and proving it reachable and writable before any
// cluster object is made.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { parseStorageSecret } from '../destination/storage-secret.ts';
import {
  destinationFromRemote,
  destinationFromSecret,
  joinRemote,
  type Destination,
} from '../destination/destination.ts';
import { runRclone, type RcloneContext } from '../rclone/run.ts';
import { encryptedDestination, encryptionPassword, type EncryptionSource } from '../destination/encryption.ts';

export interface DestinationSource extends EncryptionSource {
  secret?: string;
  remote?: string;
  encrypt?: boolean;
  /** rclone binary (obscures the encryption password). */
  rclonePath?: string;
}

export async function resolveDestination(
  kube: KubeConnection | undefined,
  namespace: string,
  source: DestinationSource,
): Promise<Destination> {
  const destination = await plainDestination(kube, namespace, source);
  if (!source.encrypt) return destination;
  return encryptedDestination(
    destination,
    await encryptionPassword(kube, namespace, source),
    source.rclonePath ?? 'rclone',
  );
}

async function plainDestination(
  kube: KubeConnection | undefined,
  namespace: string,
  source: DestinationSource,
): Promise<Destination> {
  if (source.remote || !kube) return destinationFromRemote(source.remote ?? '');
  const core = kube.config.makeApiClient(CoreV1Api);
  const name = source.secret!;
  const secret = await kube.call({ verb: 'get', resource: 'secrets', name, namespace }, () =>
    core.readNamespacedSecret({ name, namespace }),
  );
  return destinationFromSecret(parseStorageSecret(name, secret.data), name);
}

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
