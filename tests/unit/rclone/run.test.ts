import assert from 'node:assert/strict';
import { knownRcloneError, rcloneEnv, redactor, type RcloneContext } from '../../../lib/rclone/run.ts';

// Lines as rclone 1.60–1.76 logs them for the operator's documented errors.
const LOGS: Array<[string, RegExp]> = [
  ['Failed to lsf: NoCredentialProviders: no valid providers in chain', /access key/],
  [
    'ERROR : : error listing: InvalidAccessKeyId: ' +
      'The AWS Access Key Id you provided does not exist in our records.\n\tstatus code: 403',
    /access key/,
  ],
  [
    'Failed to lsf: SignatureDoesNotMatch: ' +
      'The request signature we calculated does not match the signature you provided.',
    /secret key/,
  ],
  ['Failed to copy: AccessDenied: Access Denied\n\tstatus code: 403, request id: 1', /AccessDenied/],
  ['Failed to lsf: NoSuchBucket: The specified bucket does not exist', /NoSuchBucket/],
  [
    'Failed to lsf: RequestError: send request failed\n' +
      'caused by: Get "http://127.0.0.1:1/b": dial tcp 127.0.0.1:1: connect: connection refused',
    /refused the connection/,
  ],
  ['caused by: Get "http://10.255.0.1:9000/b": dial tcp 10.255.0.1:9000: i/o timeout', /cannot be reached/],
  ['Failed to copy: multipart upload failed: write /tmp/x: no space left on device', /no space left/],
  ['x509: certificate signed by unknown authority', /not trusted/],
  ['http: server gave HTTP response to HTTPS client', /plain HTTP but TLS_HOST is true/],
];

describe('rclone errors', () => {
  for (const [log, expected] of LOGS) {
    it(`maps "${log.split('\n')[0]!.slice(0, 60)}…" to a message and a fix`, () => {
      const known = knownRcloneError(log);
      assert.ok(known, 'not recognised');
      assert.match(known.message, expected);
      assert.ok(known.fix.length > 0);
    });
  }

  it('offers the bucket creation for a missing bucket', () => {
    assert.match(knownRcloneError('NoSuchBucket')!.fix, /check --secret NAME --create-bucket/);
  });

  it('leaves unknown failures to the caller', () => {
    assert.equal(knownRcloneError('Failed to sync: something new'), undefined);
  });
});

describe('rclone environment', () => {
  const ctx = (verbosity: number, extraEnv: Record<string, string> = {}): RcloneContext => ({
    binary: 'rclone',
    destination: {
      root: 'DATAMOVER:b',
      display: 'b',
      displayRoot: 's3://b',
      env: { RCLONE_CONFIG_DATAMOVER_SECRET_ACCESS_KEY: 'topsecret' },
    },
    extraEnv,
    verbosity,
  });

  it('turns -v=4 into INFO and -v=8 into DEBUG, unless RCLONE_LOG_LEVEL is set', () => {
    assert.equal(rcloneEnv(ctx(0), {}).RCLONE_LOG_LEVEL, undefined);
    assert.equal(rcloneEnv(ctx(4), {}).RCLONE_LOG_LEVEL, 'INFO');
    assert.equal(rcloneEnv(ctx(8), {}).RCLONE_LOG_LEVEL, 'DEBUG');
    assert.equal(rcloneEnv(ctx(9, { RCLONE_LOG_LEVEL: 'ERROR' }), {}).RCLONE_LOG_LEVEL, 'ERROR');
  });

  it('hands AWS_CA_BUNDLE to rclone as --ca-cert', () => {
    const env = rcloneEnv(ctx(0), { AWS_CA_BUNDLE: '/etc/ca.pem' });
    assert.equal(env.RCLONE_CA_CERT, '/etc/ca.pem');
    assert.equal(env.AWS_CA_BUNDLE, undefined);
  });

  it('redacts secret values from what rclone logs', () => {
    assert.equal(redactor(['topsecret'])('secret_access_key = "topsecret"'), 'secret_access_key = "<redacted>"');
  });
});
