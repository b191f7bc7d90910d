// Resolving the destination of a run: the operator's Secret (read from the
// cluster) or the user's rclone remote, wrapped in a crypt remote on --encrypt.
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { parseStorageSecret } from './storage-secret.ts';
import { execa } from 'execa';
import { destinationFromRemote, destinationFromSecret, remoteTypes, type Destination } from './destination.ts';
import { encryptedDestination, encryptionPassword, type EncryptionSource } from './encryption.ts';

export interface DestinationSource extends EncryptionSource {
  secret?: string;
  remote?: string;
  encrypt?: boolean;
  /** rclone binary (obscures the encryption password, tells a remote's type). */
  rclonePath?: string;
  /** --env settings: they may define the remote (RCLONE_CONFIG_<NAME>_TYPE). */
  extraEnv?: Record<string, string>;
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
  if (source.remote || !kube) {
    const destination = destinationFromRemote(source.remote ?? '');
    const name = destination.root.slice(0, destination.root.indexOf(':'));
    // A plain S3 remote is one as the Secret's is: MD5s in its listings, metadata in upload headers.
    const type = await remoteType(source.rclonePath ?? 'rclone', name, source.extraEnv);
    return type === 's3' ? { ...destination, s3Metadata: true } : destination;
  }
  const core = kube.config.makeApiClient(CoreV1Api);
  const name = source.secret!;
  const secret = await kube.call({ verb: 'get', resource: 'secrets', name, namespace }, () =>
    core.readNamespacedSecret({ name, namespace }),
  );
  return destinationFromSecret(parseStorageSecret(name, secret.data), name);
}

/**
 * The backend type of the user's remote `name` (names and types only: `listremotes` prints no setting),
 * or undefined when rclone cannot tell (then it is treated as any remote: no S3 shortcuts).
 */
async function remoteType(rclone: string, name: string, env?: Record<string, string>): Promise<string | undefined> {
  // Never a prompt (an encrypted config without RCLONE_CONFIG_PASS): no answer is no type.
  const listed = await execa(rclone, ['listremotes', '--long', '--ask-password=false'], {
    env,
    stdin: 'ignore',
    timeout: 30_000,
    reject: false,
  });
  if (listed.exitCode !== 0) return undefined;
  // rclone gives the names of remotes defined by environment variables in lower case.
  const types = remoteTypes(String(listed.stdout));
  return types.get(name) ?? types.get(name.toLowerCase());
}
