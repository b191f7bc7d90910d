// Resolving the destination of a run: the operator's Secret (read from the
// cluster) or the user's rclone remote, wrapped in a crypt remote on --encrypt.
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { parseStorageSecret } from './storage-secret.ts';
import { destinationFromRemote, destinationFromSecret, type Destination } from './destination.ts';
import { encryptedDestination, encryptionPassword, type EncryptionSource } from './encryption.ts';

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
