// The Secret half of `check`: each key of the operator's format present or
// missing (names only, never values), then the same validation a run applies.
import type { CheckResult } from './result.ts';
import {
  KEY_DEFAULTS,
  OPTIONAL_KEYS,
  REQUIRED_KEYS,
  parseStorageSecret,
  type StorageSettings,
} from '../destination/storage-secret.ts';
import type { UserError } from '../errors.ts';

const OPTIONAL_DEFAULTS: Record<(typeof OPTIONAL_KEYS)[number], string> = {
  ...KEY_DEFAULTS,
  TLS_HOST: `${KEY_DEFAULTS.TLS_HOST} (https)`,
};

export function checkSecretKeys(
  name: string,
  data: Record<string, string> | undefined,
): { results: CheckResult[]; settings?: StorageSettings } {
  const present = new Set(
    Object.entries(data ?? {})
      .filter(([, v]) => Buffer.from(v, 'base64').toString('utf8').trim() !== '')
      .map(([k]) => k),
  );
  const results: CheckResult[] = [
    ...REQUIRED_KEYS.map((key) =>
      present.has(key)
        ? ok(`Secret ${name}: ${key} is set`)
        : fail(`Secret ${name}: ${key} is missing or empty`, `add ${key} to the Secret`),
    ),
    ...OPTIONAL_KEYS.map((key) =>
      ok(
        present.has(key)
          ? `Secret ${name}: ${key} is set`
          : `Secret ${name}: ${key} is not set (optional, default ${OPTIONAL_DEFAULTS[key]})`,
      ),
    ),
  ];
  if (results.some((r) => !r.ok)) return { results };
  try {
    const settings = parseStorageSecret(name, data);
    results.push(
      ok(
        `Secret ${name}: values are valid ` +
          `(${settings.tls ? 'https' : 'http'}://${settings.host}:${settings.port}, bucket ${settings.bucket})`,
      ),
    );
    return { results, settings };
  } catch (err) {
    results.push(fail((err as UserError).message, (err as UserError).fix));
    return { results };
  }
}

function ok(what: string): CheckResult {
  return { ok: true, what };
}
function fail(what: string, fix: string): CheckResult {
  return { ok: false, what, fix };
}
