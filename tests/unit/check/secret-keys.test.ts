import assert from 'node:assert/strict';
import { checkSecretKeys } from '../../../lib/check/secret-keys.ts';
import { renderCheckResults } from '../../../lib/check/result.ts';

const b64 = (value: string) => Buffer.from(value).toString('base64');
const complete = {
  AWS_ACCESS_KEY_ID: b64('AKIDSECRETVALUE1'),
  AWS_SECRET_ACCESS_KEY: b64('topsecretvalue2'),
  BUCKET_HOST: b64('s3.example.com'),
  BUCKET_NAME: b64('backups'),
  BUCKET_PORT: b64('443'),
  TLS_HOST: b64('true'),
};

describe('check: Secret keys', () => {
  it('reports every key and the endpoint it makes, never a value', () => {
    const { results, settings } = checkSecretKeys('s3', complete);
    assert.ok(results.every((r) => r.ok));
    assert.equal(settings?.bucket, 'backups');
    const report = renderCheckResults(results);
    assert.match(report, /OK +Secret s3: values are valid \(https:\/\/s3\.example\.com:443, bucket backups\)/);
    assert.match(report, /AWS_REGION is not set \(optional, default us-east-1\)/);
    assert.ok(!report.includes('AKIDSECRETVALUE1') && !report.includes('topsecretvalue2'), report);
  });

  it('fails each missing or empty key with its fix', () => {
    const { BUCKET_NAME: _dropped, ...withoutBucket } = complete;
    const { results, settings } = checkSecretKeys('s3', { ...withoutBucket, AWS_SECRET_ACCESS_KEY: b64('  ') });
    const failed = results.filter((r) => !r.ok).map((r) => r.what);
    assert.deepEqual(failed, [
      'Secret s3: AWS_SECRET_ACCESS_KEY is missing or empty',
      'Secret s3: BUCKET_NAME is missing or empty',
    ]);
    assert.equal(settings, undefined);
    assert.match(
      renderCheckResults(results),
      /^FAIL {2}Secret s3: AWS_SECRET_ACCESS_KEY is missing or empty; add AWS_SECRET_ACCESS_KEY to the Secret$/m,
    );
  });

  it('fails an invalid value once every key is there', () => {
    const { results } = checkSecretKeys('s3', { ...complete, BUCKET_PORT: b64('https') });
    assert.equal(results.filter((r) => !r.ok).length, 1);
    assert.match(results.at(-1)!.what, /BUCKET_PORT/);
  });
});
