// Kubeconfigs for the bad-input and RBAC tests: the bed's, edited, or one that
// authenticates as a ServiceAccount of a test namespace. Files live in the
// bed's folder, which `testbed down` removes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { bed, kubectl } from './bed.ts';

export interface RawKubeconfig {
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  'current-context': string;
}

function writeKubeconfig(config: RawKubeconfig): string {
  const dir = join(bed().dir, 'kubeconfigs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `kubeconfig-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, dumpYaml(config), { mode: 0o600 });
  return path;
}

/** The bed's kubeconfig with an edit applied. */
export function kubeconfigVariant(edit: (config: RawKubeconfig) => void): string {
  const config = loadYaml<RawKubeconfig>(readFileSync(bed().kubeconfig, 'utf8'));
  edit(config);
  return writeKubeconfig(config);
}

/** A kubeconfig that is ServiceAccount `name` of `namespace` (created if needed), with a short-lived token. */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  await kubectl(['create', 'serviceaccount', name, '-n', namespace], { reject: false });
  const token = String((await kubectl(['create', 'token', name, '-n', namespace, '--duration', '1h'])).stdout).trim();
  return kubeconfigVariant((config) => {
    const context = config.contexts.find((c) => c.name === config['current-context'])!;
    config.users = [{ name, user: { token } }];
    config.contexts = [{ name, context: { cluster: context.context.cluster, user: name, namespace } }];
    config['current-context'] = name;
  });
}
