// Following a DataMover: waiting through its phases (--wait, status --watch)
// and reading its Job pods' logs.
import { CoreV1Api, Log } from '@kubernetes/client-node';
import { PassThrough, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from '../kube/connection.ts';
import { UserError } from '../errors.ts';
import { formatDuration } from '../format/duration.ts';
import type { ProgressRenderer } from '../progress/renderer.ts';
import { getObject } from './api.ts';
import { DATAMOVERS, jobNameFor, type DataMover } from './resources.ts';
import type { Phase } from '../phases.ts';
import { jobInfo } from './status.ts';

const ORDER: Phase[] = ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed'];

export async function jobPods(
  kube: KubeConnection,
  namespace: string,
  clone: string | undefined,
): Promise<Array<{ name: string; phase: string; created: string }>> {
  if (!clone) return [];
  const core = kube.config.makeApiClient(CoreV1Api);
  const pods = await kube.call({ verb: 'list', resource: 'pods', namespace }, () =>
    core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobNameFor(clone)}` }),
  );
  return pods.items
    .map((p) => ({
      name: p.metadata!.name!,
      phase: p.status?.phase ?? 'Unknown',
      created: String(p.metadata?.creationTimestamp ?? ''),
    }))
    .sort((a, b) => a.created.localeCompare(b.created));
}

// client-node's readNamespacedPodLog refuses answers without a Content-Type
// (as some kubelets send them); its Log class streams the raw body instead.
async function readLog(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  out: Writable,
  options: { follow: boolean; tailLines?: number },
): Promise<void> {
  const core = kube.config.makeApiClient(CoreV1Api);
  const spec = await kube.call({ verb: 'get', resource: 'pods', name: pod, namespace }, () =>
    core.readNamespacedPod({ name: pod, namespace }),
  );
  const container = spec.spec?.containers[0]?.name ?? '';
  const stream = new PassThrough();
  stream.pipe(out, { end: false });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    new Log(kube.config)
      .log(namespace, pod, container, stream, { follow: options.follow, tailLines: options.tailLines })
      .catch((err: unknown) => {
        // 204 No Content: the container has not logged anything (yet).
        if (/HTTP-Code: 204/.test(String((err as Error).message))) return resolve();
        reject(
          new UserError(
            `cannot read the log of pod ${pod}: ${(err as Error).message?.split('\n')[0]}`,
            'check that you may get pods/log in this namespace',
            { cause: err },
          ),
        );
      });
  });
}

export async function lastLogLines(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  lines: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await readLog(kube, namespace, pod, sink, { follow: false, tailLines: lines }).catch(() => undefined);
  return Buffer.concat(chunks).toString('utf8');
}

export async function streamLogs(
  kube: KubeConnection,
  namespace: string,
  pod: string,
  out: Writable,
  follow: boolean,
): Promise<void> {
  await readLog(kube, namespace, pod, out, { follow });
}

/** Polls a DataMover until it is Completed or Failed, showing one progress step per phase. */
export async function waitForMover(
  kube: KubeConnection,
  namespace: string,
  name: string,
  options: { timeoutMs: number; progress: ProgressRenderer; signal?: AbortSignal },
): Promise<DataMover> {
  const deadline = Date.now() + options.timeoutMs;
  let latest: DataMover | undefined;
  const poll = async () => {
    latest = await getObject<DataMover>(kube, DATAMOVERS, namespace, name);
    if (!latest)
      throw new UserError(`DataMover "${name}" was deleted while waiting`, 'check who deleted it (kubectl get events)');
    return latest.status?.phase;
  };
  const reached = async (phase: Phase): Promise<string | undefined> => {
    for (;;) {
      options.signal?.throwIfAborted();
      const current = await poll();
      if (current === 'Failed') throw await failure(kube, latest!);
      if (current && ORDER.indexOf(current) >= ORDER.indexOf(phase)) {
        if (phase === 'CreatingPod' || phase === 'CleaningUp' || phase === 'Completed') {
          const job = await jobInfo(kube, namespace, latest!.status?.restoredPvcName);
          if (job) return `job ${job.name}, attempts ${job.attempts}`;
        }
        return latest!.status?.restoredPvcName && phase === 'ClonedPVCReady'
          ? `clone ${latest!.status.restoredPvcName}`
          : undefined;
      }
      if (Date.now() > deadline)
        throw new UserError(
          `DataMover "${name}" did not finish within ${formatDuration(options.timeoutMs)} ` +
            `(phase ${current ?? 'none yet'})`,
          'check it with kubectl datamover status, or raise --timeout',
        );
      await sleep(500);
    }
  };
  await options.progress.run(ORDER.map((phase) => ({ title: phase, run: () => reached(phase) })));
  return latest!;
}

async function failure(kube: KubeConnection, mover: DataMover): Promise<UserError> {
  const namespace = mover.metadata.namespace!;
  const pods = await jobPods(kube, namespace, mover.status?.restoredPvcName);
  const last = pods.at(-1);
  if (last) {
    const log = (await lastLogLines(kube, namespace, last.name, 20)).trimEnd();
    process.stderr.write(
      log ? `--- last log lines of pod ${last.name} ---\n${log}\n---\n` : `(pod ${last.name} has no log)\n`,
    );
  }
  const job = await jobInfo(kube, namespace, mover.status?.restoredPvcName);
  return new UserError(
    `DataMover "${mover.metadata.name}" failed` +
      (job ? ` (job ${job.name}, ${job.attempts} attempts${job.lastError ? `: ${job.lastError}` : ''})` : ''),
    'read the log lines above, fix the cause and create it again',
  );
}
