// The helper pod's server (rclone/pod-server.ts) as an rclone remote: a port-forward to it, an answer
// awaited, and the remote's settings (the password obscured, in rclone's environment only).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConnection } from '../kube/connection.ts';
import { helperPodGone } from '../kube/helper-pod.ts';
import { forwardPort } from '../kube/port-forward.ts';
import { runRclone, type RcloneContext } from './run.ts';
import { UserError } from '../errors.ts';
import { type PodServer, serverRemoteEnv } from './pod-server.ts';

export interface ServerRemoteRequest {
  kube: KubeConnection;
  namespace: string;
  pod: string;
  server: PodServer;
  /** The storage's context: the server's remote joins its settings (kept out of argv, redacted from logs). */
  rclone: RcloneContext;
  signal: AbortSignal;
  /** How long the server may take to answer once its pod is Ready. */
  startTimeoutMs?: number;
}

export interface ServerRemote {
  /** `request.rclone` with the server's remote (SERVER_REMOTE) defined too. */
  rclone: RcloneContext;
  /** `work` (rclone on the server's remote), a failure told as the helper pod's end or a cut port-forward, if so. */
  explained: <T>(work: Promise<T>) => Promise<T>;
  close: () => Promise<void>;
}

export async function openServerRemote(request: ServerRemoteRequest): Promise<ServerRemote> {
  const { server } = request;
  const local = await forwardPort(request.kube, { namespace: request.namespace, pod: request.pod, port: server.port });
  const pod = watchHelperPod(request);
  // The pod's end stops the wait for its server, and what rclone does with it, at once.
  const signal = AbortSignal.any([request.signal, pod.signal]);
  try {
    await waitForServer({ ...request, signal }, local.port, () => local.lastError());
    pod.answered = true;
    local.clearError();
    const input = server.password;
    const obscured = (await runRclone(request.rclone, ['obscure', '-'], { input, what: 'preparing rclone' })).trim();
    const { destination } = request.rclone;
    const env = { ...destination.env, ...serverRemoteEnv(local.port, obscured) };
    const explain = async (err: unknown) => {
      // rclone may fail before the pod is next looked at: one more look.
      if (pod.gone ?? (await pod.look())) return pod.gone;
      const cut = local.lastError();
      if (!cut || !(err instanceof UserError)) return err;
      // With the port-forward gone, rclone's "connection refused" is the local port's, not the storage's.
      const fix = cut.startsWith('kubectl port-forward ended')
        ? 'run the command again; if it ends the same way, check that "kubectl port-forward" to the pod works, ' +
          'or leave out --transport'
        : err.fix;
      return new UserError(`${err.message} (port-forward: ${cut})`, fix, { cause: err, exitCode: err.exitCode });
    };
    return {
      rclone: { ...request.rclone, destination: { ...destination, env }, signal },
      explained: (work) =>
        work.catch(async (err: unknown) => {
          throw await explain(err);
        }),
      close: async () => {
        pod.stop();
        await local.close();
      },
    };
  } catch (err) {
    pod.stop();
    await local.close();
    throw pod.gone ?? err;
  }
}

/** How often the helper pod is looked at while its server is used. */
const POD_WATCH_MS = 2000;

/** Looks at the helper pod every POD_WATCH_MS: once it is deleted or stopped, `gone` says so and `signal` aborts. */
function watchHelperPod(request: ServerRemoteRequest) {
  const controller = new AbortController();
  let looking: Promise<boolean> | undefined;
  const watch = {
    signal: controller.signal,
    gone: undefined as UserError | undefined,
    /** Whether its server answered: a pod that stops before is most likely an image without rclone. */
    answered: false,
    stop: () => clearInterval(timer),
    /** Looks once (or joins the look under way); true when the pod is gone. */
    look: (): Promise<boolean> => {
      looking ??= helperPodGone(request.kube, request.namespace, request.pod)
        .then((why) => {
          if (why && !watch.gone) stopped(why);
          return watch.gone !== undefined;
        })
        .finally(() => (looking = undefined));
      return looking;
    },
  };
  const stopped = (why: string) => {
    watch.gone = watch.answered
      ? new UserError(
          `the helper pod ${request.pod} ${why} while the run used its rclone server`,
          `check what stopped it (kubectl get events -n ${request.namespace}), then run the command again`,
        )
      : new UserError(
          `the helper pod ${request.pod} ${why} before its rclone server answered`,
          '--transport port-forward needs an image with rclone and a shell (--helper-image); or leave out --transport',
        );
    watch.stop();
    controller.abort(watch.gone);
  };
  const timer = setInterval(() => void watch.look(), POD_WATCH_MS);
  timer.unref();
  return watch;
}

/** The pod is Ready once its server process started, which may not listen yet: wait until it answers. */
async function waitForServer(request: ServerRemoteRequest, port: number, lastError: () => string | undefined) {
  const deadline = Date.now() + (request.startTimeoutMs ?? 20_000);
  for (;;) {
    request.signal.throwIfAborted();
    // Each try is bounded: a stream that never opens must not outlast the deadline.
    const signal = AbortSignal.any([request.signal, AbortSignal.timeout(5_000)]);
    const answered = await fetch(`http://127.0.0.1:${port}/`, { method: 'OPTIONS', signal })
      .then((response) => response.body?.cancel().then(() => true) ?? true)
      .catch(() => false);
    if (answered) return;
    if (Date.now() > deadline)
      throw new UserError(
        `the helper pod's rclone server did not answer on port ${request.server.port}` +
          `${lastError() ? ` (${lastError()})` : ''}`,
        // kubectl reached the pod, but nothing listens on the port there: the image has no rclone to serve.
        /error forwarding port|connection refused/.test(lastError() ?? 'connection refused')
          ? '--transport port-forward needs an image with rclone (--helper-image); or leave out --transport'
          : 'check that "kubectl port-forward" to the pod works with this kubeconfig; or leave out --transport',
      );
    await sleep(250, undefined, { signal: request.signal });
  }
}
