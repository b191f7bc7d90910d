// Where a backup goes, as rclone sees it: a remote path plus the environment
// that defines the remote. With --secret the remote is defined only in
// rclone's environment (RCLONE_CONFIG_<NAME>_*), never in argv or on disk;
// with --remote it is the user's own rclone config and nothing enters the cluster.
import { UsageError } from '../errors.ts';
import { OPTIONAL_KEYS, REQUIRED_KEYS, STORAGE_KEYS, endpointOf, type StorageSettings } from './storage-secret.ts';

export const SECRET_REMOTE_NAME = 'DATAMOVER';

export interface Destination {
  /** rclone path of the sync target, e.g. "DATAMOVER:bucket" or "myremote:bucket/path". */
  root: string;
  /** What to show users: never a credential. */
  display: string;
  /** How to show a path under the root to users, e.g. s3://bucket/2026-01-01-000000. */
  displayRoot: string;
  /** Behind an rclone crypt remote: no MD5s at the destination. */
  encrypted?: boolean;
  /** A plain S3 remote: X-Amz-Meta-* upload headers set an object's metadata (mtime, MD5). */
  s3Metadata?: boolean;
  env: Record<string, string>;
}

/**
 * Whether a listing gives each object's MD5 at no extra cost: on S3 it is the ETag (or metadata rclone
 * wrote). Elsewhere a hash may cost a read of each file (local, sftp) or not exist (crypt).
 */
export function listsMd5s(destination: Destination): boolean {
  return !!destination.s3Metadata && !destination.encrypted;
}

export function destinationFromSecret(settings: StorageSettings, secretName: string): Destination {
  const prefix = `RCLONE_CONFIG_${SECRET_REMOTE_NAME}_`;
  return {
    root: `${SECRET_REMOTE_NAME}:${settings.bucket}`,
    display: `s3://${settings.bucket} at ${endpointOf(settings)} (Secret ${secretName})`,
    displayRoot: `s3://${settings.bucket}`,
    s3Metadata: true,
    env: {
      [`${prefix}TYPE`]: 's3',
      [`${prefix}PROVIDER`]: 'Other',
      [`${prefix}ENV_AUTH`]: 'false',
      [`${prefix}ACCESS_KEY_ID`]: settings.accessKeyId,
      [`${prefix}SECRET_ACCESS_KEY`]: settings.secretAccessKey,
      [`${prefix}REGION`]: settings.region,
      [`${prefix}ENDPOINT`]: endpointOf(settings),
      [`${prefix}FORCE_PATH_STYLE`]: 'true',
    },
  };
}

export function destinationFromRemote(remote: string): Destination {
  const match = /^([\w.\- ]+):(.*)$/.exec(remote);
  if (!match || match[1]!.trim() === '') {
    throw new UsageError(
      `--remote "${remote}" is not an rclone remote path`,
      'use NAME:bucket/path with a remote from "rclone listremotes"',
    );
  }
  const root = `${match[1]}:${match[2]!.replace(/\/+$/, '')}`;
  return { root, display: root, displayRoot: root, env: {} };
}

/** The backend type of each remote in `rclone listremotes --long` output ("name:   type" lines). */
export function remoteTypes(listing: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const match = /^([^:]+):\s+(\S+)/.exec(line);
    if (match) types.set(match[1]!, match[2]!);
  }
  return types;
}

/** An rclone path below another ("remote:" and "remote:bucket" both work). */
export function joinRemote(root: string, name: string): string {
  return `${root.replace(/\/$/, '')}${root.endsWith(':') ? '' : '/'}${name}`;
}

/** The destination path of one run: the root, or a YYYY-MM-DD-HHMMSS folder in it. */
export function runTarget(
  destination: Destination,
  timestampFolder: string | undefined,
  root = destination.root,
): string {
  return timestampFolder ? joinRemote(root, timestampFolder) : root;
}

export function timestampFolder(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  return `${day}-${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

export const TIMESTAMP_FOLDER_PATTERN = /^\d{4}-\d{2}-\d{2}-\d{6}$/;

// The Secret's own keys (the operator's Job reads them with envFrom, which an
// explicit env entry would override) and the AWS SDK's credential variables.
const CREDENTIAL_NAMES = new Set<string>([
  ...REQUIRED_KEYS,
  ...OPTIONAL_KEYS,
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
]);

/**
 * RCLONE_* settings from --env K=V, like the operator's additionalEnv; credentials cannot be overridden.
 * With `storageKeys` (operator mode), the Secret's own keys may be given: the Job's env wins over its envFrom.
 */
export function parseEnvFlags(values: string[], options: { storageKeys?: boolean } = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq > 0 ? value.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(
        `--env "${eq > 0 ? key : value}" is not a valid environment variable name`,
        'use --env NAME=value with letters, digits and underscores',
      );
    }
    const storageKey = options.storageKeys && (STORAGE_KEYS as readonly string[]).includes(key);
    if (!storageKey && (key.startsWith(`RCLONE_CONFIG_${SECRET_REMOTE_NAME}_`) || CREDENTIAL_NAMES.has(key))) {
      throw new UsageError(
        `--env ${key} would override the storage settings from the Secret`,
        'change the Secret instead, or use --remote',
      );
    }
    env[key] = value.slice(eq + 1);
  }
  return env;
}
