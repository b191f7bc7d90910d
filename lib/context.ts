// What every command's logic receives: kubectl's global flags resolved into a
// logger, an output format and a lazily built Kubernetes connection (so that
// "completion" or "version --client" work without a kubeconfig).
import { createLogger, type Logger } from './log.ts';
import type { KubeConnection, KubeOptions } from './kube/connection.ts';

export interface GlobalOptions extends KubeOptions {
  verbosity: number;
  output: string | undefined;
  allNamespaces: boolean;
}

export interface CommandContext {
  verbosity: number;
  output: string | undefined;
  allNamespaces: boolean;
  /** The -n flag as given; undefined means "the context's namespace". */
  namespaceFlag: string | undefined;
  log: Logger;
  out(text: string): void;
  kube(): Promise<KubeConnection>;
}

export function createContext(options: GlobalOptions): CommandContext {
  let connection: Promise<KubeConnection> | undefined;
  const log = createLogger(options.verbosity);
  return {
    verbosity: options.verbosity,
    output: options.output,
    allNamespaces: options.allNamespaces,
    namespaceFlag: options.namespace,
    log,
    out: (text) => process.stdout.write(text),
    kube() {
      connection ??= import('./kube/connection.ts').then(({ connect }) => connect(options, log));
      return connection;
    },
  };
}
