// --encrypt: the destination wrapped in an rclone crypt remote (file and
// folder names and contents encrypted). The password comes from a Secret key
// or the DATAMOVER_CRYPT_PASSWORD environment variable, never from argv; it
// reaches rclone obscured, through its environment.
import { CoreV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError, UsageError } from '../errors.ts';
import type { Destination } from './destination.ts';
import { PASSWORD_ENV } from './crypt-env.ts';

export const CRYPT_REMOTE_NAME = 'DMCRYPT';

export interface EncryptionSource {
  /** NAME or NAME:KEY of a Secret in the namespace (default key: password). */
  passwordSecret?: string;
  /** The value of DATAMOVER_CRYPT_PASSWORD, read by the CLI entry. */
  passwordEnv?: string;
}

export async function encryptionPassword(
  kube: KubeConnection | undefined,
  namespace: string,
  source: EncryptionSource,
): Promise<string> {
  if (source.passwordSecret) {
    if (!kube)
      throw new UsageError('--password-secret needs a cluster connection', 'use DATAMOVER_CRYPT_PASSWORD instead');
    const [name, key = 'password'] = source.passwordSecret.split(':');
    const core = kube.config.makeApiClient(CoreV1Api);
    const secret = await kube.call({ verb: 'get', resource: 'secrets', name, namespace }, () =>
      core.readNamespacedSecret({ name: name!, namespace }),
    );
    const value = secret.data?.[key];
    if (!value)
      throw new UserError(
        `Secret "${name}" has no key "${key}" for the encryption password`,
        `add it, or pass --password-secret ${name}:KEY`,
      );
    return Buffer.from(value, 'base64').toString('utf8').trim();
  }
  if (source.passwordEnv) return source.passwordEnv;
  throw new UsageError('--encrypt needs a password', `pass --password-secret NAME[:KEY], or set ${PASSWORD_ENV}`);
}

/** Wraps a destination in a crypt remote; the password is obscured by rclone itself, from stdin. */
export async function encryptedDestination(
  destination: Destination,
  password: string,
  rclone: string,
): Promise<Destination> {
  const obscured = (await execa(rclone, ['obscure', '-'], { input: password, env: destination.env })).stdout.trim();
  const prefix = `RCLONE_CONFIG_${CRYPT_REMOTE_NAME}_`;
  return {
    root: `${CRYPT_REMOTE_NAME}:`,
    display: `${destination.display}, encrypted`,
    displayRoot: `${destination.displayRoot} (encrypted)`,
    encrypted: true,
    env: {
      ...destination.env,
      [`${prefix}TYPE`]: 'crypt',
      [`${prefix}REMOTE`]: destination.root,
      [`${prefix}PASSWORD`]: obscured,
      [`${prefix}FILENAME_ENCRYPTION`]: 'standard',
      [`${prefix}DIRECTORY_NAME_ENCRYPTION`]: 'true',
    },
  };
}
