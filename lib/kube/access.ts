// Asks the API server, before anything is created, whether the current user
// may do what a flow needs (SelfSubjectAccessReview), and names what is missing.
import { AuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConnection } from './connection.ts';
import { UserError } from '../errors.ts';

export interface Permission {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  /** A cluster-scoped resource: asked for without a namespace, granted by a ClusterRole. */
  cluster?: boolean;
  /** Only this option needs it ("--source snapshot"): check-access warns instead of failing. */
  onlyFor?: string;
}

export function describePermission(p: Permission): string {
  const resource = `${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? `.${p.group}` : ''}`;
  return `${p.verb} ${resource}`;
}

export async function missingPermissions(
  kube: KubeConnection,
  namespace: string,
  needed: Permission[],
): Promise<Permission[]> {
  const api = kube.config.makeApiClient(AuthorizationV1Api);
  const results = await Promise.all(
    needed.map(async (p) => {
      const review = await kube.call({ verb: 'create', resource: 'selfsubjectaccessreviews' }, () =>
        api.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace: p.cluster ? undefined : namespace,
                verb: p.verb,
                resource: p.resource,
                subresource: p.subresource,
                group: p.group ?? '',
              },
            },
          },
        }),
      );
      return review.status?.allowed ? undefined : p;
    }),
  );
  return results.filter((p): p is Permission => p !== undefined);
}

export async function requirePermissions(kube: KubeConnection, namespace: string, needed: Permission[]): Promise<void> {
  const missing = await missingPermissions(kube, namespace, needed);
  if (missing.length > 0) {
    const list = (ps: Permission[]) => ps.map(describePermission).join(', ');
    const namespaced = missing.filter((p) => !p.cluster);
    const cluster = missing.filter((p) => p.cluster);
    const what = [
      namespaced.length ? `${list(namespaced)} in namespace "${namespace}"` : '',
      cluster.length ? `${list(cluster)} cluster-wide` : '',
    ].filter(Boolean);
    throw new UserError(
      `you may not ${what.join(' and ')}`,
      `ask a cluster admin for a Role${cluster.length ? ' (and a ClusterRole)' : ''} that grants it ` +
        '(see docs/rbac.yaml)',
    );
  }
}
