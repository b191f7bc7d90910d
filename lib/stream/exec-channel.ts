// Runs a command in a pod over the API's exec channel (client-node's Exec,
// websocket v5) with real backpressure: client-node writes each message into
// stdout without looking at the return value, so when our consumer is full
// the websocket itself is paused, which stops reading the TCP socket and lets
// flow control reach the pod's command; and stdin waits while the websocket holds too much unsent.
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import type { KubeConnection } from '../kube/connection.ts';
import { limitUnsent } from '../kube/websocket-backpressure.ts';
import { UserError } from '../errors.ts';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdout: Writable;
  stdin?: Readable;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stderrTail: string;
}

export async function runInPod(kube: KubeConnection, request: ExecRequest): Promise<ExecResult> {
  const stderr = new PassThrough();
  let stderrTail = '';
  stderr.on('data', (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000)));
  let status: V1Status | undefined;
  const exec = new Exec(kube.config);
  const what = `${request.command.join(' ').slice(0, 60)} in pod ${request.pod}`;

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve({ exitCode: exitCodeOf(status!), stderrTail });
    };
    exec
      .exec(
        request.namespace,
        request.pod,
        request.container,
        request.command,
        request.stdout,
        stderr,
        request.stdin ?? null,
        false,
        (s) => {
          status = s;
        },
      )
      .then((ws) => {
        const onAbort = () => {
          ws.terminate();
          finish(new UserError(`interrupted while running ${what}`, 'run the command again'));
        };
        if (request.signal?.aborted) return onAbort();
        request.signal?.addEventListener('abort', onAbort, { once: true });
        if (request.stdin) limitUnsent(ws, request.stdin);
        ws.on('message', () => {
          if (request.stdout.writableNeedDrain && !ws.isPaused) {
            ws.pause();
            request.stdout.once('drain', () => ws.resume());
          }
        });
        ws.on('close', () => {
          request.signal?.removeEventListener('abort', onAbort);
          if (status) finish();
          else
            finish(
              new UserError(
                `the exec stream to pod ${request.pod} closed before the command finished`,
                'check that the pod still exists and the API server is reachable, then run again',
              ),
            );
        });
        ws.on('error', (err: Error) =>
          finish(
            new UserError(`the exec stream to pod ${request.pod} failed: ${err.message}`, 'run the command again', {
              cause: err,
            }),
          ),
        );
      })
      .catch((err: unknown) =>
        finish(
          new UserError(
            `cannot exec into pod ${request.pod}: ${(err as Error).message?.split('\n')[0]}`,
            'check that you may create and get pods/exec (kubectl datamover check-access) and that the pod is Running',
            { cause: err },
          ),
        ),
      );
  });
}

function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  return code !== undefined ? Number(code) : 255;
}

/** Runs a command and collects its stdout in memory (for small outputs such as listings). */
export async function captureFromPod(
  kube: KubeConnection,
  request: Omit<ExecRequest, 'stdout'>,
): Promise<{ stdout: Buffer; result: ExecResult }> {
  const chunks: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const result = await runInPod(kube, { ...request, stdout });
  return { stdout: Buffer.concat(chunks), result };
}

/** The last line of a command's stderr, for one-line errors. */
export function stderrLastLine(result: ExecResult): string {
  return result.stderrTail.trim().split('\n').pop()?.slice(0, 200) ?? '';
}

/** captureFromPod, failing with one line (`what` failed: stderr; `fix`) when the command exits non-zero. */
export async function captureFromPodOrFail(
  kube: KubeConnection,
  request: Omit<ExecRequest, 'stdout'>,
  failure: { what: string; fix: string },
): Promise<Buffer> {
  const { stdout, result } = await captureFromPod(kube, request);
  if (result.exitCode !== 0)
    throw new UserError(`${failure.what} failed in the helper pod: ${stderrLastLine(result)}`, failure.fix);
  return stdout;
}
