// The kubelet's activeDeadlineSeconds, for the pods kwok runs: a pod active on its node for longer
// than its deadline is failed (phase Failed, reason DeadlineExceeded, its containers terminated by
// SIGKILL), and the commands exec'd into it are killed (exec-wiring.ts, as for a deleted pod).
// Active since the kubelet took it: its startTime, else when it was scheduled (a pod that never ran,
// held by the bed's kubelet checks, is failed too, as a kubelet does).
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { patchPodStatus, recordEvent } from './api-writes.ts';
import { log } from './controller-loop.ts';
import { hasStopped } from './exec-wiring.ts';

const MESSAGE = 'Pod was active on the node longer than the specified deadline';

export function pastDeadline(pod: V1Pod, now = Date.now()): boolean {
  const deadline = pod.spec?.activeDeadlineSeconds;
  if (deadline === undefined || !pod.spec?.nodeName || pod.metadata?.deletionTimestamp || hasStopped(pod)) return false;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  const since = pod.status?.startTime ?? scheduled?.lastTransitionTime;
  // The API's timestamps are whole seconds: the pod may have started up to 1 s after the one written, and a
  // kubelet (which keeps the exact time) never fails it before its deadline.
  return since !== undefined && now - (new Date(since).getTime() + 1000) > deadline * 1000;
}

/** Writes the status a kubelet writes when it fails a pod past its deadline, and its event. */
export async function failPastDeadline(core: CoreV1Api, pod: V1Pod): Promise<void> {
  const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
  const now = new Date();
  const notReady = { status: 'False', reason: 'PodFailed', lastTransitionTime: now };
  await patchPodStatus(
    core,
    { name, namespace },
    {
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: MESSAGE,
      conditions: [
        { type: 'Ready', ...notReady },
        { type: 'ContainersReady', ...notReady },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => {
        const startedAt = pod.status?.containerStatuses?.find((s) => s.name === c.name)?.state?.running?.startedAt;
        return {
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          // null: a strategic merge patch would otherwise keep the running state next to this one
          state: {
            running: null,
            waiting: null,
            terminated: { exitCode: 137, reason: 'Error', startedAt, finishedAt: now },
          },
        };
      }),
    },
  );
  await recordEvent(
    core,
    { kind: 'Pod', name, namespace, uid },
    {
      reason: 'DeadlineExceeded',
      message: MESSAGE,
      type: 'Normal',
      source: { component: 'kubelet', host: pod.spec?.nodeName },
    },
  );
  log(`${namespace}/${name}: failed, past its activeDeadlineSeconds (${pod.spec?.activeDeadlineSeconds})`);
}
