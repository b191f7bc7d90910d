// The bed's S3 side as tests see it: an operator-shaped Secret for a
// namespace, and what arrived in the server's bucket folder.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyYaml, bed } from './bed.ts';
import { snapshot } from './tree.ts';

export async function createStorageSecret(
  namespace: string,
  name = 's3',
  overrides: Record<string, string | undefined> = {},
): Promise<void> {
  const s3 = bed().s3;
  const data: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    BUCKET_HOST: '127.0.0.1',
    BUCKET_PORT: String(s3.port),
    BUCKET_NAME: testBucket(),
    TLS_HOST: 'false',
    ...overrides,
  };
  const lines = Object.entries(data)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  await applyYaml(
    [
      'apiVersion: v1',
      'kind: Secret',
      `metadata: {name: ${name}, namespace: ${namespace}}`,
      'stringData:',
      lines.join('\n'),
      '',
    ].join('\n'),
  );
}

/**
 * The bucket of this test process: the bed's own, or with mocha --parallel one per worker
 * (MOCHA_WORKER_ID), so that files running side by side never empty each other's bucket.
 */
export function testBucket(): string {
  const worker = process.env.MOCHA_WORKER_ID;
  return worker === undefined ? bed().s3.bucket : `${bed().s3.bucket}-w${worker}`;
}

/** Every test starts from an empty bucket (the plugin syncs to the bucket root, as the operator does). */
export function emptyBucket(): void {
  rmSync(bucketPath(), { recursive: true, force: true });
  mkdirSync(bucketPath(), { recursive: true });
}

/** The bucket folder a backup was written to (the server keeps objects as files). */
export function bucketPath(...parts: string[]): string {
  return join(bed().s3.dataDir, testBucket(), ...parts);
}

/**
 * What a tree should look like in the bucket: regular files with their bytes,
 * symlinks as rclone's "<name>.rclonelink" objects holding the target.
 */
export function expectedObjects(source: string): Record<string, string> {
  const objects: Record<string, string> = {};
  for (const [path, entry] of Object.entries(snapshot(source))) {
    if (entry.type === 'file') objects[path] = entry.sha256!;
    if (entry.type === 'symlink') objects[`${path}.rclonelink`] = sha256(entry.target!);
  }
  return objects;
}

export function objectsIn(folder: string, options: { exclude?: RegExp } = {}): Record<string, string> {
  if (!existsSync(folder)) return {};
  const objects: Record<string, string> = {};
  for (const [path, entry] of Object.entries(snapshot(folder))) {
    // The backup manifest is the plugin's own object, not one of the volume's files.
    if (entry.type === 'file' && !path.endsWith('.datamover-manifest.json') && !options.exclude?.test(path))
      objects[path] = entry.sha256!;
  }
  return objects;
}

export function readObject(folder: string, key: string): string {
  return readFileSync(join(folder, key), 'utf8');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Returns once the clock is past the second that timestamp folder `folder` (YYYY-MM-DD-HHMMSS, UTC)
 * is named after: a backup started from then on gets a folder of its own. At once, usually.
 */
export async function pastTimestamp(folder: string): Promise<void> {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(folder);
  if (!m) throw new Error(`"${folder}" is not a timestamp folder`);
  const next = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) + 1000;
  while (Date.now() < next) await sleep(next - Date.now());
}

/** A timestamp folder name for a moment `ms` (UTC), as the plugin names them. */
export function timestampFolder(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace('T', '-')
    .replace(/:/g, '');
}
