// A port of a pod on a local port: `kubectl port-forward`, run as a child process on 127.0.0.1. kubectl carries
// the bytes (its own backpressure, websocket framing and masking, in Go), so none of them pass through the
// plugin's JavaScript: a restore of 2 GiB through it took 0.76x the time and 0.75x the CPU of client-node's
// PortForward in the plugin's own process, which also held 70 MB more (README, Benchmarks).
// Two things kubectl does not do, done here: it ends at the first stream that fails (a server in the pod that
// does not listen yet), so it is started again on the same local port until closed; and it outlives a plugin
// killed with SIGKILL, so on POSIX systems a shell ends it when the plugin's end of a pipe closes.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';

export interface LocalPort {
  /** The local port (on 127.0.0.1) that reaches the pod's port. */
  port: number;
  /** The last error kubectl gave for a stream ("connection refused"), or why it ended, if it did. */
  lastError(): string | undefined;
  /** Forgets the last error (once the pod's server answers, an earlier "connection refused" explains nothing). */
  clearError(): void;
  close(): Promise<void>;
}

export interface ForwardOptions {
  /** The kubectl to run (default: the one on PATH). */
  kubectl?: string;
  /** How long kubectl may take to listen. */
  startTimeoutMs?: number;
}

/** Runs `kubectl "$@"` and ends it when this shell's stdin (a pipe from the plugin) closes, or with it. */
const END_WITH_PARENT =
  'exec 3<&0; "$0" "$@" </dev/null & k=$!; (read -r _ <&3; kill $k 2>/dev/null) & ' +
  'w=$!; wait $k; s=$?; kill $w 2>/dev/null; exit $s';

const RESTART_DELAY_MS = 250;

/** Ends a kubectl started by forwardPort: its shell's pipe closed (POSIX), or the process killed (Windows). */
function stop(child: ResultPromise) {
  if (child.stdin) child.stdin.end();
  else child.kill('SIGTERM');
}

/** Fails before anything is made when no kubectl is on PATH (a preflight of --transport port-forward). */
export function requireKubectl(path = process.env.PATH ?? ''): void {
  const name = process.platform === 'win32' ? 'kubectl.exe' : 'kubectl';
  const found = path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found)
    throw new UserError(
      '--transport port-forward runs "kubectl port-forward", and no kubectl is on PATH',
      'install kubectl and put it on PATH; or leave out --transport',
    );
}

export async function forwardPort(
  kube: KubeConnection,
  target: { namespace: string; pod: string; port: number },
  options: ForwardOptions = {},
): Promise<LocalPort> {
  const kubectl = options.kubectl ?? 'kubectl';
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let lastError: string | undefined;
  let closed = false;
  const start = (localPort: number) => {
    const args = [...kube.kubectlFlags, '--namespace', target.namespace, 'port-forward', '--address', '127.0.0.1'];
    args.push(`pod/${target.pod}`, `${localPort || ''}:${target.port}`);
    const child =
      process.platform === 'win32'
        ? execa(kubectl, args, { stdin: 'ignore', buffer: false, reject: false })
        : execa('sh', ['-c', END_WITH_PARENT, kubectl, ...args], { stdin: 'pipe', buffer: false, reject: false });
    createInterface({ input: child.stderr }).on('line', (line) => {
      lastError = kubectlError(line) ?? lastError;
    });
    return child;
  };
  const ended = (child: ResultPromise) =>
    child.then((result) => {
      stop(child); // the shell may have ended alone (a signal): its kubectl ends with the pipe
      if (closed) return;
      const why = result.exitCode === 127 || result.code === 'ENOENT' ? `${kubectl} was not found` : lastError;
      lastError = `kubectl port-forward ended${why ? `: ${why}` : ` (${result.shortMessage})`}`;
    });

  let child = start(0);
  let exited = ended(child);
  let port: number;
  try {
    port = await listeningPort(child.stdout!, exited, startTimeoutMs);
  } catch (err) {
    closed = true;
    stop(child);
    await exited;
    throw startFailure(target.pod, err, lastError, startTimeoutMs);
  }
  // kubectl ends at the first stream that fails: start it again on the same port while the forward is open.
  const supervised = (async () => {
    for (;;) {
      await exited;
      if (closed) return;
      await sleep(RESTART_DELAY_MS);
      if (closed) return;
      child = start(port);
      exited = ended(child);
    }
  })();
  return {
    port,
    lastError: () => lastError,
    clearError: () => {
      lastError = undefined;
    },
    close: async () => {
      closed = true;
      stop(child);
      await exited;
      await supervised;
    },
  };
}

function startFailure(pod: string, err: unknown, lastError: string | undefined, timeoutMs: number): UserError {
  if (err instanceof Error && err.message === 'timeout')
    return new UserError(
      `kubectl port-forward to pod "${pod}" did not start listening in ${timeoutMs / 1000}s`,
      'check that "kubectl port-forward" works with this kubeconfig; or leave out --transport',
    );
  return new UserError(
    `could not forward a port of pod "${pod}": ${lastError ?? 'kubectl port-forward ended'}`,
    lastError?.includes('was not found')
      ? 'install kubectl and put it on PATH (--transport port-forward runs "kubectl port-forward"); ' +
          'or leave out --transport'
      : 'check that "kubectl port-forward" works with this kubeconfig; or leave out --transport',
  );
}

/** The local port from kubectl's "Forwarding from 127.0.0.1:PORT -> ..." line. */
function listeningPort(stdout: Readable, exited: Promise<void>, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    createInterface({ input: stdout }).on('line', (line) => {
      const match = /^Forwarding from 127\.0\.0\.1:(\d+) /.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('ended'));
    });
  });
}

/**
 * What a line of kubectl's stderr says went wrong, without klog's header: its `err="..."` if it has one
 * (`E1207 17:45:44.123456 1234 portforward.go:424] "Unhandled Error" err="an error occurred forwarding ..."`),
 * else the line ("error: lost connection to pod"). Blank lines say nothing.
 */
export function kubectlError(line: string): string | undefined {
  const text = line.replace(/^[EWIF]\d{4} [\d:.]+\s+\d+ [^\]]+\] /, '').trim();
  if (!text) return undefined;
  const quoted = /\berr="((?:[^"\\]|\\.)*)"/.exec(text);
  return quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : text.replace(/^error: /, '');
}
