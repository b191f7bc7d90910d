// The operator's storage Secret: its keys, their validation, and the rclone
// remote it describes. Values are never printed; errors name keys only.
import { UserError } from '../errors.ts';

export const REQUIRED_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'BUCKET_HOST',
  'BUCKET_NAME',
  'BUCKET_PORT',
] as const;
export const OPTIONAL_KEYS = ['AWS_REGION', 'TLS_HOST'] as const;

export interface StorageSettings {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  host: string;
  port: number;
  bucket: string;
  tls: boolean;
}

/** Checks the keys of a Secret's data (base64 values) and decodes them. */
export function parseStorageSecret(secretName: string, data: Record<string, string> | undefined): StorageSettings {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data ?? {}))
    decoded[key] = Buffer.from(value, 'base64').toString('utf8').trim();
  const missing = REQUIRED_KEYS.filter((key) => !decoded[key]);
  if (missing.length > 0) {
    throw new UserError(
      `Secret "${secretName}" is missing ${missing.length === 1 ? 'key' : 'keys'} ${missing.join(', ')}`,
      `add ${missing.length === 1 ? 'it' : 'them'} to the Secret (required: ${REQUIRED_KEYS.join(', ')})`,
    );
  }
  const port = Number(decoded.BUCKET_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(
      `Secret "${secretName}" has a BUCKET_PORT that is not a port number (1-65535)`,
      'set BUCKET_PORT to e.g. 443 or 9000',
    );
  }
  const host = decoded.BUCKET_HOST!;
  if (/^[a-z]+:\/\//i.test(host) || host.includes('/')) {
    throw new UserError(
      `Secret "${secretName}" has a BUCKET_HOST with a scheme or a path`,
      'set BUCKET_HOST to the host name only (e.g. s3.example.com); TLS_HOST chooses https',
    );
  }
  const bucket = decoded.BUCKET_NAME!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UserError(
      `Secret "${secretName}" has a BUCKET_NAME that is not a valid S3 bucket name`,
      'use 3-63 lower-case letters, digits, dots and hyphens',
    );
  }
  const tls = (decoded.TLS_HOST ?? 'false').toLowerCase();
  if (!['true', 'false'].includes(tls)) {
    throw new UserError(
      `Secret "${secretName}" has a TLS_HOST that is neither true nor false`,
      'set TLS_HOST to true (https) or false (http)',
    );
  }
  return {
    accessKeyId: decoded.AWS_ACCESS_KEY_ID!,
    secretAccessKey: decoded.AWS_SECRET_ACCESS_KEY!,
    region: decoded.AWS_REGION || 'us-east-1',
    host,
    port,
    bucket,
    tls: tls === 'true',
  };
}

export function endpointOf(settings: StorageSettings): string {
  return `${settings.tls ? 'https' : 'http'}://${settings.host}:${settings.port}`;
}
