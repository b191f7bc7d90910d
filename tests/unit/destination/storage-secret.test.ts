import assert from 'node:assert/strict';
import { parseStorageSecret, parseStorageValues } from '../../../lib/destination/storage-secret.ts';
import { UserError } from '../../../lib/errors.ts';

const b64 = (value: string) => Buffer.from(value).toString('base64');
const secret = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)]));
const minimal = {
  AWS_ACCESS_KEY_ID: 'AK',
  AWS_SECRET_ACCESS_KEY: 'SK',
  BUCKET_HOST: 's3.example.com',
  BUCKET_NAME: 'backups',
};

describe("the storage Secret, read as the operator's entrypoint reads it", () => {
  it('defaults BUCKET_PORT to 443, AWS_REGION to us-east-1 and TLS_HOST to true', () => {
    const settings = parseStorageSecret('s3', secret(minimal));
    assert.deepEqual(
      { port: settings.port, region: settings.region, tls: settings.tls },
      { port: 443, region: 'us-east-1', tls: true },
    );
  });

  it('takes an empty value as unset, as `[ -z ]` does', () => {
    const settings = parseStorageSecret('s3', secret({ ...minimal, TLS_HOST: '', BUCKET_PORT: '' }));
    assert.equal(settings.tls, true);
    assert.equal(settings.port, 443);
  });

  it('accepts only lower-case true and false for TLS_HOST', () => {
    assert.equal(parseStorageSecret('s3', secret({ ...minimal, TLS_HOST: 'false' })).tls, false);
    for (const value of ['True', 'FALSE', 'yes', '1'])
      assert.throws(
        () => parseStorageSecret('s3', secret({ ...minimal, TLS_HOST: value })),
        (e: unknown) => e instanceof UserError && /TLS_HOST that is neither "true" nor "false"/.test(e.message),
        value,
      );
  });

  it('refuses a value with a trailing newline, which the Job would use as it is', () => {
    assert.throws(
      () => parseStorageSecret('s3', secret({ ...minimal, BUCKET_NAME: 'backups\n' })),
      /Secret "s3" has a BUCKET_NAME with leading or trailing whitespace/,
    );
  });

  it('names only the required keys that are missing, and where they may come from', () => {
    assert.throws(
      () =>
        parseStorageValues(
          { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' },
          {
            origin: () => 'Secret "s3"',
            missingFix: 'add it to the Secret, or give it with --env',
          },
        ),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === 'Secret "s3" is missing keys BUCKET_HOST, BUCKET_NAME' &&
        /^add it to the Secret, or give it with --env \(required: /.test(e.fix ?? ''),
    );
  });

  it('names where a wrong value came from', () => {
    assert.throws(
      () =>
        parseStorageValues(
          { ...minimal, BUCKET_PORT: 'http' },
          {
            origin: (key) =>
              key === 'BUCKET_PORT' ? 'ConfigMap "cm" key "port" (--env-from-configmap BUCKET_PORT)' : 's',
          },
        ),
      /ConfigMap "cm" key "port" \(--env-from-configmap BUCKET_PORT\) has a BUCKET_PORT that is not a port number/,
    );
  });
});
