// A port of a pod on a local port: `kubectl port-forward`, run as a child process on 127.0.0.1. kubectl carries
// the bytes (its own backpressure, websocket framing and masking, in Go), so none of them pass through the
// plugin's JavaScript: a restore of 2 GiB through it took 0.76x the time and 0.75x the CPU of client-node's
// PortForward in the plugin's own process, which also held 70 MB more (README, Benchmarks).
// Two things kubectl does not do, done here: it ends at the first stream that fails (a server in the pod that
// does not listen yet), so it is started again on the same local port (waiting longer each time it ends soon
// after it started, up to 10 times in a row); and it outlives a plugin killed with SIGKILL, so on POSIX systems
// a shell ends it when the plugin's end of a pipe closes.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildProcess, spawn } from 'node:child_process';
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
  'exec 3<&0; "$0" "$@" </dev/null & k=$!; (read -r _ <&3; kill $k) >/dev/null 2>&1 & ' +
  'w=$!; wait $k; s=$?; kill $w 2>/dev/null; exit $s';

const RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 4_000;
/** Starts in a row that each end within SHORT_LIFE_MS: enough for a server that takes 20 s to listen. */
const MAX_QUICK_RESTARTS = 10;
const SHORT_LIFE_MS = 10_000;

/** Ends a kubectl started by forwardPort: its shell's pipe closed (POSIX), or the process killed (Windows). */
function stop(child: ChildProcess) {
  if (child.stdin) child.stdin.end();
  else child.kill('SIGTERM');
}

/** Fails before anything is made when no kubectl is on PATH (a preflight of --transport port-forward). */
export function requireKubectl(path = process.env.PATH ?? ''): void {
  const name = process.platform === 'win32' ? 'kubectl.exe' : 'kubectl';
  const found = path.split(delimiter).some((dir) => {
    try {
      const file = join(dir || '.', name);
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
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
        ? spawn(kubectl, args, { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('sh', ['-c', END_WITH_PARENT, kubectl, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin?.on('error', () => undefined); // the shell is gone: nothing left to end
    // The shell may end alone (a Ctrl-C to the process group): its kubectl then ends with the pipe.
    child.on('exit', () => stop(child));
    // What this kubectl said went wrong: a stream's own error (err="...") rather than the "lost connection
    // to pod" it prints as it ends.
    let streamError: string | undefined;
    let otherError: string | undefined;
    createInterface({ input: child.stderr }).on('line', (line) => {
      const error = kubectlError(line);
      if (!error) return;
      if (line.includes(' err="')) streamError = error;
      else otherError = error;
      lastError = streamError ?? otherError;
    });
    const exited = new Promise<void>((resolve) => {
      let ended = false;
      const end = (cause: string) => {
        if (ended) return; // a failed spawn gives 'error', then 'close'
        ended = true;
        if (!closed) lastError = `kubectl port-forward ended: ${streamError ?? otherError ?? cause}`;
        resolve();
      };
      child.once('error', (err: NodeJS.ErrnoException) =>
        end(err.code === 'ENOENT' ? `${kubectl} was not found` : err.message),
      );
      child.once('close', (code, signal) =>
        end(code === 127 ? `${kubectl} was not found` : `exit code ${code ?? signal}`),
      );
    });
    const listening = new Promise<number>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /^Forwarding from 127\.0\.0\.1:(\d+) /.exec(line);
        if (match) resolve(Number(match[1]));
      });
    });
    return { child, exited, listening };
  };

  let current = start(0);
  let port: number;
  try {
    port = await listeningPort(current, startTimeoutMs);
  } catch (err) {
    closed = true;
    stop(current.child);
    await current.exited;
    throw startFailure(target.pod, err, lastError, startTimeoutMs);
  }
  // kubectl ends at the first stream that fails: start it again on the same port while the forward is open,
  // waiting longer each time it ended soon after it started, and not forever (a pod that is gone or
  // credentials that expired fail the run).
  const supervised = (async () => {
    for (let quick = 0; quick < MAX_QUICK_RESTARTS; ) {
      const started = Date.now();
      await current.exited;
      if (closed) return;
      quick = Date.now() - started < SHORT_LIFE_MS ? quick + 1 : 0;
      await sleep(Math.min(RESTART_DELAY_MS * 2 ** quick, MAX_RESTART_DELAY_MS));
      if (closed) return;
      current = start(port);
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
      stop(current.child);
      await current.exited;
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

/** The port kubectl listens on ("Forwarding from 127.0.0.1:PORT -> ..."), unless it ends or takes too long. */
function listeningPort(kubectl: { exited: Promise<void>; listening: Promise<number> }, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  const ended = kubectl.exited.then(() => Promise.reject(new Error('ended')));
  return Promise.race([kubectl.listening, ended, timeout]).finally(() => clearTimeout(timer));
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
