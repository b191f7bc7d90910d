// The bed's S3 server: the real `rclone serve s3` (pinned build) on 127.0.0.1,
// with generated credentials, over plain HTTP and over HTTPS with a CA that is
// generated for this bed only.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDetached, waitForPort } from './processes.ts';
import type { StatePaths } from './paths.ts';

export interface S3Server {
  endpoint: string;
  tlsEndpoint: string;
  /** The same bucket through a server that refuses every write. */
  readOnlyEndpoint: string;
  caFile: string;
  port: number;
  tlsPort: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
}

export const TEST_BUCKET = 'datamover-test';

export async function startS3(paths: StatePaths, rclone: string): Promise<S3Server> {
  const accessKeyId = `AK${randomBytes(8).toString('hex').toUpperCase()}`;
  // The shape of an AWS secret key: 40 characters of base64 (never a leading "-").
  const secretAccessKey = randomBytes(30).toString('base64');
  mkdirSync(join(paths.s3Data, TEST_BUCKET), { recursive: true });
  const tls = generateTls(paths.tls);
  const [port, tlsPort, readOnlyPort] = [await freePort(), await freePort(), await freePort()];
  // The key reaches rclone through its environment, never its argv.
  // CSV-quoted: rclone splits list flags given in the environment on commas.
  const env = { ...process.env, RCLONE_AUTH_KEY: `"${accessKeyId},${secretAccessKey}"` };
  // No directory cache: tests look at (and tamper with) the bucket's folder directly.
  const common = [
    'serve',
    's3',
    paths.s3Data,
    '--vfs-cache-mode',
    'off',
    '--dir-cache-time',
    '200ms',
    '--log-level',
    'NOTICE',
  ];
  startDetached(paths, 's3', rclone, [...common, '--addr', `127.0.0.1:${port}`], env);
  startDetached(
    paths,
    's3-tls',
    rclone,
    [...common, '--addr', `127.0.0.1:${tlsPort}`, '--cert', tls.cert, '--key', tls.key],
    env,
  );
  startDetached(paths, 's3-read-only', rclone, [...common, '--addr', `127.0.0.1:${readOnlyPort}`, '--read-only'], env);
  await Promise.all([
    waitForPort(port, 15_000, 'rclone serve s3'),
    waitForPort(tlsPort, 15_000, 'rclone serve s3 (TLS)'),
    waitForPort(readOnlyPort, 15_000, 'rclone serve s3 (read-only)'),
  ]);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    tlsEndpoint: `https://127.0.0.1:${tlsPort}`,
    readOnlyEndpoint: `http://127.0.0.1:${readOnlyPort}`,
    caFile: tls.ca,
    port,
    tlsPort,
    bucket: TEST_BUCKET,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    dataDir: paths.s3Data,
  };
}

function generateTls(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '7',
    '-subj',
    '/CN=datamover-testbed-ca',
  );
  openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '7',
    '-extfile',
    file('san.ext'),
  );
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}
