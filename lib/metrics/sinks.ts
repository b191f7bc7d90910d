// Where a run's metrics go: a node_exporter textfile-collector file (written
// atomically, so the collector never reads half a file) and/or a Prometheus
// Pushgateway (job "datamover", grouped by namespace and PVC).
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { UsageError, UserError } from '../errors.ts';
import { renderRunMetrics, type RunMetrics } from './prometheus-text.ts';

export const PUSHGATEWAY_JOB = 'datamover';

export interface MetricsTargets {
  file?: string;
  pushgateway?: string;
}

export interface RunIdentity {
  namespace: string;
  pvc: string;
}

/** Checks --pushgateway before the run starts: a typo should not cost a backup's worth of waiting. */
export function parsePushgatewayUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--pushgateway "${value}" is not a URL`, 'use e.g. http://pushgateway.monitoring:9091');
  }
  if (!['http:', 'https:'].includes(url.protocol))
    throw new UsageError(
      `--pushgateway "${value}" is not an http(s) URL`,
      'use e.g. http://pushgateway.monitoring:9091',
    );
  return url;
}

export async function writeMetricsFile(path: string, run: RunMetrics, id: RunIdentity): Promise<void> {
  // The collector only reads *.prom files: the temporary name does not end in .prom.
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, renderRunMetrics(run, { namespace: id.namespace, pvc: id.pvc, mode: 'local' }), {
      mode: 0o644,
    });
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new UserError(
      `could not write the metrics file "${path}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'pass a writable path to --metrics-file',
    );
  }
}

export function pushgatewayGroupUrl(base: URL, id: RunIdentity): string {
  const segments = ['metrics', 'job', PUSHGATEWAY_JOB, 'namespace', id.namespace, 'pvc', id.pvc].map(
    encodeURIComponent,
  );
  return `${base.href.replace(/\/+$/, '')}/${segments.join('/')}`;
}

/** PUT replaces the group's metrics: the gateway holds the last run of each PVC. */
export async function pushMetrics(base: URL, run: RunMetrics, id: RunIdentity, timeoutMs = 10_000): Promise<void> {
  const url = pushgatewayGroupUrl(base, id);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain; version=0.0.4' },
      body: renderRunMetrics(run, { mode: 'local' }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new UserError(
      `could not push metrics to ${base.origin} (${cause})`,
      'check --pushgateway and that the Pushgateway is up',
    );
  }
  if (!response.ok) {
    const text = (await response.text()).split('\n')[0]!.slice(0, 200);
    throw new UserError(
      `the Pushgateway at ${base.origin} refused the metrics (HTTP ${response.status}${text ? `: ${text}` : ''})`,
      'check --pushgateway',
    );
  }
}

/** Writes and pushes; a failure here is reported as a warning, never as a failed backup. */
export async function publishRunMetrics(
  targets: MetricsTargets,
  run: RunMetrics,
  id: RunIdentity,
  warn: (line: string) => void,
): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (targets.file) jobs.push(writeMetricsFile(targets.file, run, id));
  if (targets.pushgateway) jobs.push(pushMetrics(parsePushgatewayUrl(targets.pushgateway), run, id));
  for (const outcome of await Promise.allSettled(jobs)) {
    if (outcome.status === 'rejected')
      warn(`${(outcome.reason as Error).message}; ${(outcome.reason as UserError).fix ?? ''}`);
  }
}
