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
import { findPvc } from '../kube/pvc.ts';
import type { Phase } from '../phases.ts';
import { describeJobState, jobInfo, jobPods, type JobInfo } from './status.ts';

export { jobPods };

const ORDER: Phase[] = ['CreatingClonedPVC', 'ClonedPVCReady', 'CreatingPod', 'CleaningUp', 'Completed'];

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

/** The last log lines of the Job's last failed pod (or, with none failed, its newest pod), as a block. */
export async function failedPodLog(kube: KubeConnection, namespace: string, job: JobInfo, lines = 20): Promise<string> {
  const pod = job.pods.filter((p) => p.phase === 'Failed').at(-1) ?? job.pods.at(-1);
  if (!pod) return '';
  const log = (await lastLogLines(kube, namespace, pod.name, lines)).trimEnd();
  const exit = pod.exitCode !== undefined ? `, exit code ${pod.exitCode}` : '';
  return log
    ? `--- last log lines of pod ${pod.name} (${pod.phase}${exit}) ---\n${log}\n---\n`
    : `(pod ${pod.name} (${pod.phase}${exit}) has no log)\n`;
}

/**
 * Polls a DataMover until it is Completed or Failed, showing one progress step per phase.
 * The operator marks it Failed at the first failed Job pod and never changes it again, while the
 * Job goes on retrying (backoffLimit 2): on Failed, this follows the Job until it has finished too.
 * It throws when the Job failed for good; when a retry succeeded (the data was synced, though the
 * DataMover stays Failed and its clone is not cleaned up), it warns and returns.
 */
export async function waitForMover(
  kube: KubeConnection,
  namespace: string,
  name: string,
  options: { timeoutMs: number; progress: ProgressRenderer; signal?: AbortSignal },
): Promise<DataMover> {
  const deadline = Date.now() + options.timeoutMs;
  let latest: DataMover | undefined;
  let recovered: JobInfo | undefined;
  const poll = async () => {
    latest = await getObject<DataMover>(kube, DATAMOVERS, namespace, name);
    if (!latest)
      throw new UserError(`DataMover "${name}" was deleted while waiting`, 'check who deleted it (kubectl get events)');
    return latest.status?.phase;
  };
  const late = (what: string) =>
    new UserError(
      `DataMover "${name}" did not finish within ${formatDuration(options.timeoutMs)} (${what})`,
      'check it with kubectl datamover status, or raise --timeout',
    );
  /** Failed: follow the Job until it has finished; returns it if a retry succeeded. */
  const afterFailed = async (): Promise<JobInfo> => {
    let told = false;
    for (;;) {
      const job = await jobInfo(kube, namespace, latest!.status?.restoredPvcName);
      if (!job || job.state === 'failed') throw await failure(kube, latest!, job);
      if (job.state === 'succeeded') return job;
      if (!told) {
        told = true;
        process.stderr.write(
          `DataMover "${name}" is Failed (the operator marks it at the first failed Job pod and does not change it ` +
            `again), but its Job ${job.name} is ${describeJobState(job)}: following the Job\n` +
            (await failedPodLog(kube, namespace, job)),
        );
      }
      options.signal?.throwIfAborted();
      if (Date.now() > deadline) throw late(`phase Failed; job ${job.name} ${describeJobState(job)}`);
      await sleep(1000);
    }
  };
  const reached = async (phase: Phase): Promise<string | undefined> => {
    if (recovered) return 'not reached: the DataMover stays Failed';
    for (;;) {
      options.signal?.throwIfAborted();
      const current = await poll();
      if (current === 'Failed') {
        recovered = await afterFailed();
        return `DataMover Failed, but job ${recovered.name} ${describeJobState(recovered)}`;
      }
      if (current && ORDER.indexOf(current) >= ORDER.indexOf(phase)) {
        if (phase === 'CreatingPod' || phase === 'CleaningUp' || phase === 'Completed') {
          const job = await jobInfo(kube, namespace, latest!.status?.restoredPvcName);
          if (job) return `job ${job.name}, ${describeJobState(job)}`;
        }
        return latest!.status?.restoredPvcName && phase === 'ClonedPVCReady'
          ? `clone ${latest!.status.restoredPvcName}`
          : undefined;
      }
      if (Date.now() > deadline) throw late(`phase ${current ?? 'none yet'}`);
      await sleep(500);
    }
  };
  await options.progress.run(ORDER.map((phase) => ({ title: phase, run: () => reached(phase) })));
  if (recovered) {
    process.stderr.write(
      `warning: DataMover "${name}" stays Failed in the operator's status (and counts as failed for a schedule), ` +
        `but job ${recovered.name} ${describeJobState(recovered)}: the data was synced; ` +
        `the clone ${latest!.status?.restoredPvcName} is kept (the operator does not clean up after Failed)\n`,
    );
  }
  const clone = latest!.status?.restoredPvcName;
  if (
    latest!.spec.deletePvcAfterBackup &&
    clone &&
    (await findPvc(kube, namespace, clone))?.metadata?.deletionTimestamp
  )
    process.stderr.write(
      `warning: the operator deleted the clone ${clone}, but it stays Terminating (its storage kept) while the ` +
        `finished pod of job ${jobNameFor(clone)} mounts it, as Kubernetes protects a PVC in use; ` +
        `kubectl datamover delete ${name} deletes the Job, and so frees the clone\n`,
    );
  return latest!;
}

async function failure(kube: KubeConnection, mover: DataMover, job: JobInfo | undefined): Promise<UserError> {
  const namespace = mover.metadata.namespace!;
  if (job) process.stderr.write(await failedPodLog(kube, namespace, job));
  return new UserError(
    `DataMover "${mover.metadata.name}" failed` +
      (job ? ` (job ${job.name} ${describeJobState(job)}${job.lastError ? `; ${job.lastError}` : ''})` : ' (no Job)'),
    'read the log lines above, fix the cause and create it again',
  );
}
