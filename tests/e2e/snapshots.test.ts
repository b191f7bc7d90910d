// backup --source snapshot and --from-snapshot on the bed: the real snapshot-controller of
// external-snapshotter, the bed's CSI driver cutting snapshots as folder copies (ready only once cut),
// and PVCs provisioned from them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  applyYaml,
  bed,
  createBoundPvc,
  datamover,
  kubectl,
  managedLeftovers,
  useNamespace,
  userEnv,
  waitFor,
} from './support/bed.ts';
import { writeMixedTree } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket, expectedObjects, objectsIn } from './support/storage.ts';
import { REPO_ROOT, statePaths } from '../testbed/paths.ts';

/** A Bound PVC of the bed's CSI driver; its folder (a CSI PV keeps it in its volumeAttributes). */
async function csiPvc(namespace: string, name: string, storageClass = bed().storageClasses.csi): Promise<string> {
  await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${storageClass}
  resources: {requests: {storage: 1Gi}}
`);
  await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', '--timeout=60s', `pvc/${name}`, '-n', namespace]);
  const volume = String(
    (await kubectl(['get', 'pvc', name, '-n', namespace, '-o', 'jsonpath={.spec.volumeName}'])).stdout,
  );
  const jsonpath = 'jsonpath={.spec.csi.volumeAttributes.path}';
  return String((await kubectl(['get', 'pv', volume, '-o', jsonpath])).stdout);
}

/** A VolumeSnapshot taken by hand (not by the plugin). */
async function takeSnapshot(namespace: string, name: string, pvc: string, className: string): Promise<void> {
  await applyYaml(`apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  volumeSnapshotClassName: ${className}
  source: {persistentVolumeClaimName: ${pvc}}
`);
}

async function names(kind: string, namespace: string): Promise<string> {
  return String((await kubectl(['get', kind, '-n', namespace, '-o', 'name'])).stdout).trim();
}

/** The VolumeSnapshotContents of the namespace's snapshots (cluster-scoped, so found by their reference). */
async function contentsOf(namespace: string): Promise<string[]> {
  const jsonpath = '{range .items[*]}{.metadata.name} {.spec.volumeSnapshotRef.namespace}{"\\n"}{end}';
  const out = String((await kubectl(['get', 'volumesnapshotcontents', '-o', `jsonpath=${jsonpath}`])).stdout);
  return out
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, ns]) => ns === namespace)
    .map(([name]) => name!);
}

/** The snapshot copies the bed's CSI driver holds. */
function snapshotCopies(): string[] {
  const dir = statePaths(bed().dir).snapshots;
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Nothing of the run is left: no PVC or pod of the plugin, no VolumeSnapshot, content or copy. */
async function assertNothingLeft(namespace: string, copiesBefore: string[], keep = ''): Promise<void> {
  assert.equal(await managedLeftovers(namespace), '');
  assert.equal(await names('volumesnapshots', namespace), keep);
  if (!keep) {
    await waitFor('the VolumeSnapshotContents to be deleted', async () =>
      (await contentsOf(namespace)).length === 0 ? true : undefined,
    );
    // Copies of earlier tests' snapshots may go meanwhile (their namespaces are deleted in the background).
    await waitFor('the snapshot copies to be deleted', () =>
      snapshotCopies().every((copy) => copiesBefore.includes(copy)) ? true : undefined,
    );
  }
}

function errorLines(stderr: unknown): string[] {
  return String(stderr)
    .split('\n')
    .filter((l) => l.startsWith('error:'));
}

describe('backup from VolumeSnapshots (local mode)', () => {
  const ns = useNamespace('snap');
  const dm = (args: string[]) => datamover([...args, '-n', ns.name]);
  let source: string;
  beforeEach(async () => {
    emptyBucket();
    source = await csiPvc(ns.name, 'data');
    await createStorageSecret(ns.name);
  });

  it('--source snapshot: the bytes arrive per object, then no snapshot, content, PVC or pod is left', async () => {
    writeMixedTree(source);
    const before = snapshotCopies();
    const result = await dm(['backup', 'data', '--secret', 's3', '--source', 'snapshot', '-o', 'json']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const summary = JSON.parse(String(result.stdout));
    assert.match(summary.snapshot, /^data-snapshot-\d+$/);
    assert.match(summary.clone, /^data-from-snapshot-\d+$/);
    assert.equal(summary.checksums, 'verified');
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
    // The default class of the PVC's driver was taken (there are two: the other is never ready).
    assert.match(String(result.stderr), /Snapshot the PVC.*\(class datamover-csi-snapshots\), ready to use/);
    await assertNothingLeft(ns.name, before);
  });

  it('--keep-clone keeps the snapshot and the PVC from it, labelled as the run made them', async () => {
    writeFileSync(join(source, 'file.txt'), 'kept\n');
    const result = await dm(['backup', 'data', '--secret', 's3', '--source', 'snapshot', '--keep-clone', '-o', 'json']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const { snapshot, clone } = JSON.parse(String(result.stdout));
    const selector = ['-l', 'app.kubernetes.io/managed-by=kubectl-datamover,datamover.a-cup-of.coffee/source-pvc=data'];
    const kept = await kubectl(['get', 'volumesnapshots,pvc', '-n', ns.name, ...selector, '-o', 'name']);
    assert.deepEqual(String(kept.stdout).trim().split('\n').sort(), [
      `persistentvolumeclaim/${clone}`,
      `volumesnapshot.snapshot.storage.k8s.io/${snapshot}`,
    ]);
    assert.deepEqual(objectsIn(bucketPath()), { 'file.txt': expectedObjects(source)['file.txt'] });
  });

  it('--from-snapshot: backs up the snapshot as it was cut, and leaves it in place', async () => {
    writeFileSync(join(source, 'before.txt'), 'cut with the snapshot\n');
    await takeSnapshot(ns.name, 'nightly', 'data', bed().snapshotClasses.ready);
    await kubectl([
      'wait',
      '--for=jsonpath={.status.readyToUse}=true',
      '--timeout=60s',
      'volumesnapshot/nightly',
      '-n',
      ns.name,
    ]);
    const atSnapshot = expectedObjects(source);
    writeFileSync(join(source, 'after.txt'), 'written after the snapshot\n');
    const result = await dm(['backup', 'data', '--secret', 's3', '--from-snapshot', 'nightly', '-o', 'json']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.equal(JSON.parse(String(result.stdout)).snapshot, 'nightly');
    assert.deepEqual(objectsIn(bucketPath()), atSnapshot);
    await assertNothingLeft(ns.name, [], 'volumesnapshot.snapshot.storage.k8s.io/nightly');
    const ready = await kubectl([
      'get',
      'volumesnapshot',
      'nightly',
      '-n',
      ns.name,
      '-o',
      'jsonpath={.status.readyToUse}',
    ]);
    assert.equal(String(ready.stdout), 'true');
  });

  it('a snapshot that never becomes ready times out in one line, and what the run made is removed', async () => {
    const before = snapshotCopies();
    const started = Date.now();
    const result = await dm([
      'backup',
      'data',
      '--secret',
      's3',
      '--source',
      'snapshot',
      '--snapshot-class',
      bed().snapshotClasses.neverReady,
      '--timeout',
      '8s',
    ]);
    assert.equal(result.exitCode, 1);
    const errors = errorLines(result.stderr);
    assert.equal(errors.length, 1, String(result.stderr));
    assert.match(
      errors[0]!,
      new RegExp(
        '^error: VolumeSnapshot "data-snapshot-\\d+" was not ready to use within 8s ' +
          '\\(cut, not ready to use yet\\); .*--timeout',
      ),
    );
    assert.ok(Date.now() - started < 60_000);
    await assertNothingLeft(ns.name, before);
    assert.deepEqual(objectsIn(bucketPath()), {});
  });

  it('Ctrl-C while the snapshot is not ready: "interrupted by SIGINT", and the snapshot is removed', async () => {
    const before = snapshotCopies();
    const run = execa(
      join(REPO_ROOT, 'bin', 'kubectl-datamover'),
      [
        'backup',
        'data',
        '--secret',
        's3',
        '--source',
        'snapshot',
        '--snapshot-class',
        bed().snapshotClasses.neverReady,
        '-n',
        ns.name,
      ],
      { env: userEnv(), extendEnv: false, reject: false, cwd: REPO_ROOT },
    );
    // Interrupted once the snapshot is cut: the driver has a copy that must go with it.
    await waitFor("the run's snapshot to be cut", async () => {
      const jsonpath = '{.items[*].status.creationTime}';
      const out = await kubectl(['get', 'volumesnapshots', '-n', ns.name, '-o', `jsonpath=${jsonpath}`]);
      return String(out.stdout).trim() ? true : undefined;
    });
    run.kill('SIGINT');
    const result = await run;
    assert.equal(result.exitCode, 1, String(result.stderr));
    assert.match(String(result.stderr), /^error: interrupted by SIGINT; /m);
    await assertNothingLeft(ns.name, before);
  });

  it('--from-snapshot refuses a snapshot that is not ready, or missing, in one line, and makes nothing', async () => {
    await takeSnapshot(ns.name, 'pending', 'data', bed().snapshotClasses.neverReady);
    await kubectl([
      'wait',
      '--for=jsonpath={.status.creationTime}',
      '--timeout=60s',
      'volumesnapshot/pending',
      '-n',
      ns.name,
    ]);
    const pending = await dm(['backup', 'data', '--secret', 's3', '--from-snapshot', 'pending']);
    assert.equal(pending.exitCode, 1);
    assert.deepEqual(errorLines(pending.stderr), [
      'error: VolumeSnapshot "pending" is not ready to use (cut, not ready to use yet); wait until READYTOUSE is ' +
        'true (kubectl get volumesnapshot pending), or take a new one with --source snapshot',
    ]);
    const missing = await dm(['backup', 'data', '--secret', 's3', '--from-snapshot', 'nope']);
    assert.equal(missing.exitCode, 1);
    assert.deepEqual(errorLines(missing.stderr).length, 1);
    assert.match(
      errorLines(missing.stderr)[0]!,
      new RegExp(`VolumeSnapshot "nope" not found in namespace "${ns.name}"`),
    );
    assert.equal(await managedLeftovers(ns.name), '');
    assert.equal(await names('volumesnapshots', ns.name), 'volumesnapshot.snapshot.storage.k8s.io/pending');
  });

  it('a class that cannot clone suggests --source snapshot, which then works', async () => {
    const noClone = await csiPvc(ns.name, 'rigid', bed().storageClasses.csiNoClone);
    writeFileSync(join(noClone, 'file.txt'), 'rigid\n');
    const clone = await dm(['backup', 'rigid', '--secret', 's3', '--timeout', '60s']);
    assert.equal(clone.exitCode, 1);
    const errors = errorLines(clone.stderr);
    assert.equal(errors.length, 1, String(clone.stderr));
    assert.match(
      errors[0]!,
      new RegExp(
        '^error: the clone "rigid-cloned-\\d+" cannot be provisioned: StorageClass datamover-csi-noclone does not ' +
          'support cloning \\(dataSource rigid\\); use a StorageClass whose CSI driver supports cloning, pass ' +
          '--source snapshot \\(VolumeSnapshotClass datamover-csi-snapshots is for its driver\\), or pass --no-clone',
      ),
    );
    assert.equal(await managedLeftovers(ns.name), '');
    const snapshot = await dm(['backup', 'rigid', '--secret', 's3', '--source', 'snapshot']);
    assert.equal(snapshot.exitCode, 0, String(snapshot.stderr));
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(noClone));
    await assertNothingLeft(ns.name, []);
  });

  it('a volume no snapshot class serves is refused in one line, before anything is made', async () => {
    await createBoundPvc(ns.name, 'plain');
    const result = await dm(['backup', 'plain', '--secret', 's3', '--source', 'snapshot']);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(errorLines(result.stderr), [
      "error: no VolumeSnapshotClass for the PVC's CSI driver testbed.datamover.a-cup-of.coffee/local-folder; " +
        'ask an admin to create one for that driver, or use --source clone or --source live',
    ]);
    assert.equal(await managedLeftovers(ns.name), '');
    assert.equal(await names('volumesnapshots', ns.name), '');
  });

  it('--source live is --no-clone: the same warning, no clone, the same objects', async () => {
    writeMixedTree(source);
    const runs = [];
    for (const flag of [['--source', 'live'], ['--no-clone']]) {
      emptyBucket();
      const result = await dm(['backup', 'data', '--secret', 's3', ...flag, '-o', 'json']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /^warning: --no-clone: reading the live PVC "data"; files that change/m);
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      const { durationSeconds, channelBytes, ...summary } = JSON.parse(String(result.stdout));
      runs.push(summary);
    }
    assert.equal(runs[0].clone, undefined);
    assert.deepEqual(runs[0], runs[1]);
    assert.equal(await managedLeftovers(ns.name), '');
  });
});

describe("the bed's snapshot machinery (snapshot-controller and the CSI driver's part)", () => {
  const ns = useNamespace('snapbed');
  const json = async (args: string[]) => JSON.parse(String((await kubectl([...args, '-o', 'json'])).stdout));

  it('cuts a snapshot as a copy, then ready; a PVC from it holds the cut bytes; deleting it drops it', async () => {
    const source = await csiPvc(ns.name, 'data');
    writeFileSync(join(source, 'file.txt'), 'one\n');
    await takeSnapshot(ns.name, 's', 'data', bed().snapshotClasses.ready);
    const ready = ['--for=jsonpath={.status.readyToUse}=true', '--timeout=60s', 'volumesnapshot/s', '-n', ns.name];
    await kubectl(['wait', ...ready]);
    writeFileSync(join(source, 'file.txt'), 'two\n');
    const snapshot = await json(['get', 'volumesnapshot', 's', '-n', ns.name]);
    assert.equal(snapshot.status.restoreSize, '1Gi');
    const content = await json(['get', 'volumesnapshotcontent', snapshot.status.boundVolumeSnapshotContentName]);
    assert.equal(content.spec.driver, 'csi-folder.testbed.datamover.a-cup-of.coffee');
    assert.match(content.status.snapshotHandle, /^snapshot-/);
    assert.ok(content.status.creationTime > 0);
    assert.equal(content.status.restoreSize, 1073741824);
    assert.equal(
      content.metadata.annotations?.['snapshot.storage.kubernetes.io/volumesnapshot-being-created'],
      undefined,
    );
    const copy = join(statePaths(bed().dir).snapshots, content.status.snapshotHandle);
    assert.equal(readFileSync(join(copy, 'file.txt'), 'utf8'), 'one\n');
    await pvcFromSnapshot(ns.name, 'back', 's');
    await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', '--timeout=60s', 'pvc/back', '-n', ns.name]);
    const volume = String(
      (await kubectl(['get', 'pvc', 'back', '-n', ns.name, '-o', 'jsonpath={.spec.volumeName}'])).stdout,
    );
    const folder = String(
      (await kubectl(['get', 'pv', volume, '-o', 'jsonpath={.spec.csi.volumeAttributes.path}'])).stdout,
    );
    assert.equal(readFileSync(join(folder, 'file.txt'), 'utf8'), 'one\n');
    await kubectl(['delete', 'pvc', 'back', '-n', ns.name]);
    await kubectl(['delete', 'volumesnapshot', 's', '-n', ns.name]);
    await waitFor('the content and its copy to be deleted', async () =>
      (await contentsOf(ns.name)).length === 0 && !existsSync(copy) ? true : undefined,
    );
  });

  it('a class that never becomes ready cuts the snapshot but never reports it ready; a PVC from it waits', async () => {
    await csiPvc(ns.name, 'data');
    await takeSnapshot(ns.name, 'slow', 'data', bed().snapshotClasses.neverReady);
    const cut = ['--for=jsonpath={.status.creationTime}', '--timeout=60s', 'volumesnapshot/slow', '-n', ns.name];
    await kubectl(['wait', ...cut]);
    await pvcFromSnapshot(ns.name, 'back', 'slow');
    const failed = await waitFor('the provisioner to refuse the PVC', async () => {
      const events = await json(['get', 'events', '-n', ns.name, '--field-selector', 'reason=ProvisioningFailed']);
      return events.items.map((e: { message: string }) => e.message).join('\n') || undefined;
    });
    assert.match(failed, /snapshot slow is not Ready/);
    const snapshot = await json(['get', 'volumesnapshot', 'slow', '-n', ns.name]);
    assert.equal(snapshot.status.readyToUse, false);
    const pvc = await json(['get', 'pvc', 'back', '-n', ns.name]);
    assert.equal(pvc.status.phase, 'Pending');
  });

  it('a hostPath volume (driver local-folder) cannot be snapshotted: the snapshot-controller says so', async () => {
    await createBoundPvc(ns.name, 'plain');
    await takeSnapshot(ns.name, 'never', 'plain', bed().snapshotClasses.ready);
    const error = await waitFor('the snapshot to fail', async () => {
      const snapshot = await json(['get', 'volumesnapshot', 'never', '-n', ns.name]);
      return snapshot.status?.error?.message as string | undefined;
    });
    assert.match(error, /cannot find CSI PersistentVolumeSource/);
  });
});

/** PVC `name` of the CSI class, provisioned from VolumeSnapshot `snapshot` (not waited for). */
async function pvcFromSnapshot(namespace: string, name: string, snapshot: string): Promise<void> {
  await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${bed().storageClasses.csi}
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: ${snapshot}}
`);
}
