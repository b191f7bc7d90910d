// Least privilege: each mode works as a ServiceAccount bound only to its Role
// of docs/rbac.yaml, and check-access names what a user is missing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBoundPvc, datamover, kubectl, useNamespace } from './support/bed.ts';
import { serviceAccountKubeconfig } from './support/kubeconfig.ts';
import { bucketPath, createStorageSecret, emptyBucket, objectsIn } from './support/storage.ts';
import { REPO_ROOT } from '../testbed/paths.ts';

const RBAC = join(REPO_ROOT, 'docs', 'rbac.yaml');

describe('RBAC: each mode under its minimal Role', () => {
  const ns = useNamespace('rbac');
  let source: string;
  const clusterBindings: string[] = [];
  afterEach(async () => {
    for (const name of clusterBindings.splice(0))
      await kubectl(['delete', 'clusterrolebinding', name, '--ignore-not-found'], { reject: false });
  });
  /**
   * Runs the plugin as ServiceAccount `account`, bound to `role` (if any) and to `clusterRole` (if any,
   * with a ClusterRoleBinding, removed after the test).
   */
  async function as(
    account: string,
    role?: string,
    clusterRole?: string,
  ): Promise<(args: string[]) => ReturnType<typeof datamover>> {
    if (clusterRole) {
      const name = `${ns.name}-${account}`;
      clusterBindings.push(name);
      await kubectl([
        'create',
        'clusterrolebinding',
        name,
        '--clusterrole',
        clusterRole,
        `--serviceaccount=${ns.name}:${account}`,
      ]);
    }
    if (role)
      await kubectl([
        'create',
        'rolebinding',
        account,
        '-n',
        ns.name,
        '--role',
        role,
        `--serviceaccount=${ns.name}:${account}`,
      ]);
    const kubeconfig = await serviceAccountKubeconfig(ns.name, account);
    return (args) => datamover([...args, '-n', ns.name], { env: { KUBECONFIG: kubeconfig } });
  }

  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    writeFileSync(join(source, 'hello.txt'), 'hello\n');
    await createStorageSecret(ns.name);
    await kubectl(['apply', '-n', ns.name, '-f', RBAC]);
  });

  it('local mode: check-access, backup, restore and verify pass with datamover-local', async () => {
    const dm = await as('backup-user', 'datamover-local', 'datamover-local-cluster');
    const access = await dm(['check-access', '--mode', 'local']);
    assert.equal(access.exitCode, 0, String(access.stdout) + String(access.stderr));
    assert.doesNotMatch(String(access.stdout), /FAIL/);
    const backup = await dm(['backup', 'data', '--secret', 's3']);
    assert.equal(backup.exitCode, 0, String(backup.stderr));
    assert.deepEqual(Object.keys(objectsIn(bucketPath())), ['hello.txt']);
    const restore = await dm([
      'restore',
      '--secret',
      's3',
      '--from',
      'plain',
      '--to-pvc',
      'restored',
      '--create',
      '--size',
      '1Gi',
    ]);
    assert.equal(restore.exitCode, 0, String(restore.stderr));
    const verify = await dm(['verify', '--secret', 's3', '--from', 'plain', '--against-pvc', 'restored']);
    assert.equal(verify.exitCode, 0, String(verify.stdout) + String(verify.stderr));
  });

  it('operator mode: check-access, create, status and delete pass with datamover-operator', async () => {
    const dm = await as('operator-user', 'datamover-operator');
    const access = await dm(['check-access', '--mode', 'operator']);
    assert.equal(access.exitCode, 0, String(access.stdout) + String(access.stderr));
    assert.equal(
      (await dm(['create', 'nightly', '--pvc', 'data', '--secret', 's3', '--schedule', '0 2 * * *'])).exitCode,
      0,
    );
    const create = await dm(['create', 'once', '--pvc', 'data', '--secret', 's3', '--mode', 'operator']);
    assert.equal(create.exitCode, 0, String(create.stderr));
    const status = await dm(['status', 'once']);
    assert.equal(status.exitCode, 0, String(status.stderr));
    assert.match(String(status.stdout), /once/);
    assert.equal((await dm(['delete', 'once'])).exitCode, 0);
    assert.equal(
      String((await kubectl(['get', 'datamovers,datamoverschedules', '-n', ns.name, '-o', 'name'])).stdout).trim(),
      'datamoverschedule.datamover.a-cup-of.coffee/nightly',
    );
  });

  it('check-access passes with the Role alone, warning what only --source snapshot needs', async () => {
    const dm = await as('role-only', 'datamover-local');
    const access = await dm(['check-access', '--mode', 'local']);
    assert.equal(access.exitCode, 0, String(access.stdout) + String(access.stderr));
    assert.doesNotMatch(String(access.stdout), /FAIL/);
    assert.match(
      String(access.stdout),
      /^WARN {2}local mode: list volumesnapshotclasses\.snapshot\.storage\.k8s\.io cluster-wide; bind the ClusterRole/m,
    );
    const backup = await dm(['backup', 'data', '--secret', 's3', '--source', 'snapshot']);
    assert.equal(backup.exitCode, 1);
    assert.match(String(backup.stderr), /^error: .*volumesnapshotclasses/m);
  });

  it('check-access names every missing permission of the mode, with the Role to bind, and exits 1', async () => {
    const dm = await as('operator-only', 'datamover-operator');
    const access = await dm(['check-access', '--mode', 'local']);
    assert.equal(access.exitCode, 1);
    const failed = String(access.stdout)
      .split('\n')
      .filter((l) => l.startsWith('FAIL'));
    assert.ok(
      failed.some((l) => l.includes('create pods/exec')),
      String(access.stdout),
    );
    assert.ok(
      failed.every((l) =>
        l.includes(' cluster-wide')
          ? l.endsWith('; bind the ClusterRole datamover-local-cluster of docs/rbac.yaml')
          : l.endsWith('; bind the Role datamover-local of docs/rbac.yaml'),
      ),
      String(access.stdout),
    );
    // What only --source snapshot or --transport port-forward needs is a warning, not a failure.
    const warned = String(access.stdout)
      .split('\n')
      .filter((l) => l.startsWith('WARN'));
    assert.ok(
      warned.some((l) => l.includes('list volumesnapshotclasses.snapshot.storage.k8s.io cluster-wide')),
      String(access.stdout),
    );
    assert.ok(
      warned.every((l) =>
        l.includes('volumesnapshot')
          ? l.endsWith(' (only --source snapshot needs it)')
          : l.includes('pods/portforward') && l.endsWith(' (only --transport port-forward needs it)'),
      ),
      String(access.stdout),
    );
    assert.ok(
      warned.some((l) => l.includes('create pods/portforward')),
      String(access.stdout),
    );
    assert.ok(!failed.some((l) => /volumesnapshot|portforward/.test(l)), String(access.stdout));
    // What the operator Role grants is not reported missing.
    assert.ok(!failed.some((l) => / get secrets /.test(l)), String(access.stdout));
  });

  it('a user with no Role is refused before anything is created, in one line', async () => {
    const dm = await as('nobody');
    const backup = await dm(['backup', 'data', '--secret', 's3']);
    assert.equal(backup.exitCode, 1);
    const errors = String(backup.stderr)
      .split('\n')
      .filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, String(backup.stderr));
    assert.match(errors[0]!, /you may not .*create pods\/exec.*; ask a cluster admin .*docs\/rbac\.yaml/);
    assert.equal(String((await kubectl(['get', 'pods', '-n', ns.name, '-o', 'name'])).stdout).trim(), '');
    assert.equal(
      String((await kubectl(['get', 'pvc', '-n', ns.name, '-o', 'name'])).stdout).trim(),
      'persistentvolumeclaim/data',
    );
    assert.deepEqual(objectsIn(bucketPath()), {});
  });
});
