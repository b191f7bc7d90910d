// The operator's storage Secret: its keys, their validation, and the rclone
// remote it describes. One parser for both modes, with the rules and defaults
// of the operator's Job entrypoint (dataMoverImage/entrypoint.sh): an empty or
// absent key is unset; AWS_REGION defaults to us-east-1, BUCKET_PORT to 443 and
// TLS_HOST to true; TLS_HOST must be exactly "true" or "false". Values are never
// printed; errors name keys (and where they came from) only.
import { UserError } from '../errors.ts';

export const REQUIRED_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'BUCKET_HOST', 'BUCKET_NAME'] as const;
export const OPTIONAL_KEYS = ['AWS_REGION', 'BUCKET_PORT', 'TLS_HOST'] as const;
export type StorageKey = (typeof REQUIRED_KEYS)[number] | (typeof OPTIONAL_KEYS)[number];
export const STORAGE_KEYS: readonly StorageKey[] = [...REQUIRED_KEYS, ...OPTIONAL_KEYS];

/** The entrypoint's defaults for the optional keys. */
export const KEY_DEFAULTS: Record<(typeof OPTIONAL_KEYS)[number], string> = {
  AWS_REGION: 'us-east-1',
  BUCKET_PORT: '443',
  TLS_HOST: 'true',
};

export interface StorageSettings {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  host: string;
  port: number;
  bucket: string;
  tls: boolean;
}

/** A Secret's data (base64 values) decoded, as its envFrom gives it to the Job: values as they are. */
export function decodeSecretData(data: Record<string, string> | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data ?? {})) decoded[key] = Buffer.from(value, 'base64').toString('utf8');
  return decoded;
}

/** Checks the keys of a Secret's data (base64 values) and decodes them. */
export function parseStorageSecret(secretName: string, data: Record<string, string> | undefined): StorageSettings {
  return parseStorageValues(decodeSecretData(data), { origin: () => `Secret "${secretName}"` });
}

export interface ValueSources {
  /** Where a key's value came from, for errors: `Secret "s3"`, `--env BUCKET_PORT`... */
  origin: (key: StorageKey) => string;
  /** Where a missing key may be given (default: the Secret). */
  missingFix?: string;
}

/** The storage settings from the environment the Job would see (the Secret's keys, or additionalEnv over them). */
export function parseStorageValues(values: Record<string, string | undefined>, sources: ValueSources): StorageSettings {
  const get = (key: StorageKey): string | undefined => {
    const value = values[key];
    if (value === undefined || value === '') return undefined;
    if (value.trim() !== value)
      throw new UserError(
        `${sources.origin(key)} has a ${key} with leading or trailing whitespace (a trailing newline?)`,
        `remove it: the operator's Job uses the value as it is`,
      );
    return value;
  };
  const missing = REQUIRED_KEYS.filter((key) => get(key) === undefined);
  if (missing.length > 0) {
    const origin = sources.origin(missing[0]!);
    throw new UserError(
      `${origin} is missing ${missing.length === 1 ? 'key' : 'keys'} ${missing.join(', ')}`,
      `${sources.missingFix ?? `add ${missing.length === 1 ? 'it' : 'them'} to the Secret`} ` +
        `(required: ${REQUIRED_KEYS.join(', ')}; AWS_REGION, BUCKET_PORT and TLS_HOST default to ` +
        `${KEY_DEFAULTS.AWS_REGION}, ${KEY_DEFAULTS.BUCKET_PORT} and ${KEY_DEFAULTS.TLS_HOST})`,
    );
  }
  const portText = get('BUCKET_PORT') ?? KEY_DEFAULTS.BUCKET_PORT;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new UserError(
      `${sources.origin('BUCKET_PORT')} has a BUCKET_PORT that is not a port number (1-65535)`,
      'set BUCKET_PORT to e.g. 443 or 9000, or leave it out for 443',
    );
  }
  const host = get('BUCKET_HOST')!;
  if (/^[a-z]+:\/\//i.test(host) || host.includes('/')) {
    throw new UserError(
      `${sources.origin('BUCKET_HOST')} has a BUCKET_HOST with a scheme or a path`,
      'set BUCKET_HOST to the host name only (e.g. s3.example.com); TLS_HOST chooses https',
    );
  }
  const bucket = get('BUCKET_NAME')!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UserError(
      `${sources.origin('BUCKET_NAME')} has a BUCKET_NAME that is not a valid S3 bucket name`,
      'use 3-63 lower-case letters, digits, dots and hyphens',
    );
  }
  // The entrypoint compares the exact strings: "True" or "TRUE" make the Job fail.
  const tls = get('TLS_HOST') ?? KEY_DEFAULTS.TLS_HOST;
  if (tls !== 'true' && tls !== 'false') {
    throw new UserError(
      `${sources.origin('TLS_HOST')} has a TLS_HOST that is neither "true" nor "false" (lower case)`,
      'set TLS_HOST to true (https, the default) or false (http)',
    );
  }
  return {
    accessKeyId: get('AWS_ACCESS_KEY_ID')!,
    secretAccessKey: get('AWS_SECRET_ACCESS_KEY')!,
    region: get('AWS_REGION') ?? KEY_DEFAULTS.AWS_REGION,
    host,
    port,
    bucket,
    tls: tls === 'true',
  };
}

export function endpointOf(settings: StorageSettings): string {
  return `${settings.tls ? 'https' : 'http'}://${settings.host}:${settings.port}`;
}
