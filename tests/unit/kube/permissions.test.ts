import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAllYaml, type V1Role } from '@kubernetes/client-node';
import { MODES } from '../../../lib/kube/permissions.ts';
import { describePermission } from '../../../lib/kube/access.ts';
import { clusterRoleOf } from '../../../lib/check/access.ts';

/** "verb resource[/sub][.group]" for every grant of a Role. */
function grants(role: V1Role): string[] {
  return (role.rules ?? []).flatMap((rule) =>
    rule.resources!.flatMap((resource) =>
      rule.verbs.map((verb) => {
        const [name, subresource] = resource.split('/');
        const group = rule.apiGroups?.[0] || undefined;
        return describePermission({ verb, resource: name!, subresource, group });
      }),
    ),
  );
}

describe('docs/rbac.yaml', () => {
  const roles = loadAllYaml(readFileSync(new URL('../../../docs/rbac.yaml', import.meta.url), 'utf8')) as V1Role[];

  for (const mode of Object.keys(MODES) as Array<keyof typeof MODES>) {
    it(`grants the ${mode} mode exactly what the plugin checks for`, () => {
      const role = roles.find((r) => r.kind === 'Role' && r.metadata?.name === `datamover-${mode}`);
      assert.ok(role, `no Role datamover-${mode}`);
      const namespaced = MODES[mode].filter((p) => !p.cluster);
      assert.deepEqual(grants(role).sort(), namespaced.map(describePermission).sort());
    });

    it(`grants the ${mode} mode's cluster-scoped permissions in its ClusterRole, and only those`, () => {
      const role = roles.find((r) => r.kind === 'ClusterRole' && r.metadata?.name === clusterRoleOf(mode));
      const cluster = MODES[mode].filter((p) => p.cluster);
      assert.deepEqual(role ? grants(role).sort() : [], cluster.map(describePermission).sort());
    });
  }
});
