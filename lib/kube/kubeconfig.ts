// Loads kubeconfig the way kubectl does: --kubeconfig alone when given, else
// every file in KUBECONFIG merged (first file wins on name clashes and for
// current-context), else ~/.kube/config; then --context picks the context.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';

export interface KubeconfigSource {
  kubeconfig?: string;
  context?: string;
  /** The value of KUBECONFIG; passed in so that only the CLI entry reads the environment. */
  kubeconfigEnv?: string;
  home?: string;
}

export function kubeconfigFiles(source: KubeconfigSource): string[] {
  if (source.kubeconfig) {
    if (!existsSync(source.kubeconfig)) {
      throw new UserError(
        `kubeconfig file "${source.kubeconfig}" does not exist`,
        'pass an existing file to --kubeconfig',
      );
    }
    return [source.kubeconfig];
  }
  if (source.kubeconfigEnv) {
    // kubectl skips KUBECONFIG entries that do not exist.
    const files = source.kubeconfigEnv.split(delimiter).filter((file) => file !== '' && existsSync(file));
    if (files.length === 0) {
      throw new UserError(
        `none of the files in KUBECONFIG exist (${source.kubeconfigEnv})`,
        'set KUBECONFIG to your kubeconfig file(s) or pass --kubeconfig',
      );
    }
    return files;
  }
  const defaultFile = join(source.home ?? homedir(), '.kube', 'config');
  if (!existsSync(defaultFile)) {
    throw new UserError(
      `no kubeconfig found (looked for ${defaultFile})`,
      'pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
    );
  }
  return [defaultFile];
}

export function loadKubeConfig(source: KubeconfigSource): KubeConfig {
  const merged = mergeFiles(kubeconfigFiles(source));
  const contextName = source.context || merged.getCurrentContext();
  if (!contextName) {
    throw new UserError(
      'the kubeconfig has no current context',
      'pass --context, or run "kubectl config use-context NAME"',
    );
  }
  const context = merged.getContextObject(contextName);
  if (!context) {
    const known =
      merged
        .getContexts()
        .map((c) => c.name)
        .join(', ') || 'none';
    throw new UserError(
      `context "${contextName}" does not exist in the kubeconfig (known: ${known})`,
      'pass one of the known contexts to --context',
    );
  }
  if (!merged.getCluster(context.cluster)) {
    throw new UserError(
      `context "${contextName}" refers to cluster "${context.cluster}", which the kubeconfig does not define`,
      'fix the kubeconfig or pick another --context',
    );
  }
  merged.setCurrentContext(contextName);
  return merged;
}

function mergeFiles(files: string[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const file of files) {
    const config = new KubeConfig();
    try {
      config.loadFromFile(file); // also resolves certificate paths relative to the file
    } catch (err) {
      throw new UserError(
        `cannot read kubeconfig file "${file}": ${describeReadError(err)}`,
        'fix the file or point --kubeconfig/KUBECONFIG at a valid one',
        { cause: err },
      );
    }
    for (const cluster of config.getClusters()) if (!clusters.has(cluster.name)) clusters.set(cluster.name, cluster);
    for (const user of config.getUsers()) if (!users.has(user.name)) users.set(user.name, user);
    for (const context of config.getContexts()) if (!contexts.has(context.name)) contexts.set(context.name, context);
    currentContext ||= config.getCurrentContext() ?? '';
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return merged;
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return 'not a valid kubeconfig';
}
