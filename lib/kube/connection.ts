// The kubectl connection flags, resolved once into a client, the namespace and
// a single wrapper that every API call goes through (timeout + error mapping).
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './kubeconfig.ts';
import { apiStatusCode, describeApiError, isTransientApiError, type ApiAction } from './api-errors.ts';
import type { Logger } from '../log.ts';

/**
 * Requests that are safe to repeat, and how often: once the server has answered
 * in this run, 6 retries 0.25 s doubling (about 16 s: an API server restart);
 * before that, one (a server that is down or a wrong address fails fast).
 */
const IDEMPOTENT_VERBS = new Set(['get', 'list', 'watch', 'delete', 'patch']);
export const API_RETRY = { retries: 6, retriesBeforeFirstAnswer: 1, firstDelayMs: 250 };

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** KUBECONFIG, read by the CLI entry point. */
  kubeconfigEnv?: string;
  /** 0 means no timeout, as in kubectl. */
  requestTimeoutMs: number;
}

export interface KubeConnection {
  config: KubeConfig;
  namespace: string;
  server: string;
  contextName: string;
  /** kubectl's flags for the same cluster and user (KUBECONFIG, if set, reaches kubectl by the environment). */
  kubectlFlags: string[];
  /** Runs one API request: bounded by --request-timeout, errors turned into UserErrors. */
  call<T>(action: ApiAction, request: () => Promise<T>): Promise<T>;
}

export function connect(options: KubeOptions, log?: Logger): KubeConnection {
  const config = loadKubeConfig(options);
  const context = config.getContextObject(config.getCurrentContext());
  const server = config.getCurrentCluster()?.server ?? '';
  const namespace = options.namespace || context?.namespace || 'default';
  let answered = false;
  return {
    config,
    namespace,
    server,
    contextName: config.getCurrentContext(),
    kubectlFlags: [
      ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
      '--context',
      config.getCurrentContext(),
    ],
    async call<T>(action: ApiAction, request: () => Promise<T>): Promise<T> {
      const retries = IDEMPOTENT_VERBS.has(action.verb)
        ? answered
          ? API_RETRY.retries
          : API_RETRY.retriesBeforeFirstAnswer
        : 0;
      for (let attempt = 0; ; attempt++) {
        const started = performance.now();
        try {
          const result = await withTimeout(request(), options.requestTimeoutMs);
          answered = true;
          log?.debug(6, `${describeRequest(action)}: OK in ${Math.round(performance.now() - started)} ms`);
          return result;
        } catch (err) {
          const failure = describeApiError(err, { server, ...action });
          // An HTTP error is an answer too: the server is up.
          if (apiStatusCode(err) !== undefined) answered = true;
          log?.debug(
            6,
            `${describeRequest(action)}: ${failure.message} in ${Math.round(performance.now() - started)} ms`,
          );
          if (attempt >= retries || !isTransientApiError(err)) throw failure;
          const delay = API_RETRY.firstDelayMs * 2 ** attempt;
          const line = `${failure.message}; retrying in ${delay / 1000}s (${attempt + 1}/${retries})`;
          // Retries during the work are shown; the single quiet one before the first answer is not.
          if (answered) log?.warn(line);
          else log?.debug(6, line);
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
  };
}

function describeRequest(action: ApiAction): string {
  const name = action.name ? ` "${action.name}"` : '';
  return `${action.verb} ${action.resource}${name}${action.namespace ? ` in namespace "${action.namespace}"` : ''}`;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
