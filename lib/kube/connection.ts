// The kubectl connection flags, resolved once into a client, the namespace and
// a single wrapper that every API call goes through (timeout + error mapping).
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './kubeconfig.ts';
import { describeApiError, type ApiAction } from './api-errors.ts';

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
  /** Runs one API request: bounded by --request-timeout, errors turned into UserErrors. */
  call<T>(action: ApiAction, request: () => Promise<T>): Promise<T>;
}

export function connect(options: KubeOptions): KubeConnection {
  const config = loadKubeConfig(options);
  const context = config.getContextObject(config.getCurrentContext());
  const server = config.getCurrentCluster()?.server ?? '';
  const namespace = options.namespace || context?.namespace || 'default';
  return {
    config,
    namespace,
    server,
    contextName: config.getCurrentContext(),
    async call<T>(action: ApiAction, request: () => Promise<T>): Promise<T> {
      try {
        return await withTimeout(request(), options.requestTimeoutMs);
      } catch (err) {
        throw describeApiError(err, { server, ...action });
      }
    },
  };
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
