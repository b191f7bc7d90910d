import assert from 'node:assert/strict';
import { ApiException, ApisApi, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeConnection } from '../../../lib/kube/connection.ts';
import { UserError } from '../../../lib/errors.ts';
import { chooseSnapshotClass, recordedDriver, type VolumeSnapshotClass } from '../../../lib/kube/snapshot-classes.ts';
import {
  buildPvcFromSnapshot,
  buildSnapshot,
  checkExistingSnapshot,
  getSnapshot,
  listSnapshotClasses,
  snapshotFailure,
  type VolumeSnapshot,
} from '../../../lib/kube/snapshots.ts';
import { runObjectName } from '../../../lib/kube/pvc.ts';

const DRIVER = 'csi.example.com';

function snapshotClass(name: string, driver = DRIVER, isDefault = false): VolumeSnapshotClass {
  const annotations = isDefault ? { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } : undefined;
  return { metadata: { name, annotations }, driver, deletionPolicy: 'Delete' };
}

const source: V1PersistentVolumeClaim = {
  metadata: {
    name: 'data',
    namespace: 'shop',
    annotations: { 'volume.kubernetes.io/storage-provisioner': DRIVER },
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'fast',
    volumeMode: 'Filesystem',
    resources: { requests: { storage: '5Gi' } },
  },
  status: { phase: 'Bound', capacity: { storage: '8Gi' } },
};

function snapshot(status: VolumeSnapshot['status'], of = 'data'): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name: 'nightly', namespace: 'shop' },
    spec: { source: { persistentVolumeClaimName: of } },
    status,
  };
}

describe('choosing the VolumeSnapshotClass', () => {
  it("takes the only class of the PVC's driver, ignoring other drivers' classes", () => {
    const classes = [snapshotClass('other', 'other.example.com', true), snapshotClass('mine')];
    assert.equal(chooseSnapshotClass(classes, DRIVER).metadata?.name, 'mine');
  });

  it('prefers the class annotated is-default-class when several are of the driver', () => {
    const classes = [snapshotClass('a'), snapshotClass('b', DRIVER, true), snapshotClass('c')];
    assert.equal(chooseSnapshotClass(classes, DRIVER).metadata?.name, 'b');
  });

  it('refuses to guess between several classes when none is the default, naming them', () => {
    const classes = [snapshotClass('b'), snapshotClass('a')];
    assert.throws(
      () => chooseSnapshotClass(classes, DRIVER),
      (err: unknown) =>
        err instanceof UserError &&
        /2 VolumeSnapshotClasses are for driver csi\.example\.com and none is annotated/.test(err.message) &&
        err.fix === 'pass --snapshot-class with one of a, b',
    );
  });

  it('refuses two defaults for one driver, naming only those', () => {
    const classes = [snapshotClass('a', DRIVER, true), snapshotClass('b', DRIVER, true), snapshotClass('c')];
    assert.throws(() => chooseSnapshotClass(classes, DRIVER), /2 are annotated as the default.*|one of a, b$/);
  });

  it('says there is no class for the driver, and what to use instead', () => {
    assert.throws(
      () => chooseSnapshotClass([snapshotClass('x', 'other.example.com')], DRIVER),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === "no VolumeSnapshotClass for the PVC's CSI driver csi.example.com" &&
        /--source clone or --source live/.test(err.fix),
    );
  });

  it('takes --snapshot-class when it is of the driver, even if another is the default', () => {
    const classes = [snapshotClass('a', DRIVER, true), snapshotClass('b')];
    assert.equal(chooseSnapshotClass(classes, DRIVER, 'b').metadata?.name, 'b');
  });

  it("refuses a --snapshot-class of another driver than the PVC's", () => {
    assert.throws(
      () => chooseSnapshotClass([snapshotClass('x', 'other.example.com')], DRIVER, 'x'),
      /VolumeSnapshotClass "x" is for driver other\.example\.com, not csi\.example\.com/,
    );
  });

  it('refuses a --snapshot-class that does not exist', () => {
    assert.throws(() => chooseSnapshotClass([], DRIVER, 'nope'), /VolumeSnapshotClass "nope" does not exist/);
  });

  it('asks for --snapshot-class when the driver cannot be told', () => {
    assert.throws(
      () => chooseSnapshotClass([snapshotClass('a')], undefined),
      (err: unknown) => /pass --snapshot-class/.test((err as UserError).fix),
    );
  });

  it('reads the driver the PV controller recorded on the PVC (or its beta name)', () => {
    assert.equal(recordedDriver(source), DRIVER);
    const beta = { metadata: { annotations: { 'volume.beta.kubernetes.io/storage-provisioner': 'b.example.com' } } };
    assert.equal(recordedDriver(beta), 'b.example.com');
    assert.equal(recordedDriver({ metadata: {} }), undefined);
  });
});

describe('snapshot manifests', () => {
  it('names what a run makes of a PVC like the operator names its clone', () => {
    const now = new Date(1_700_000_000_000);
    assert.equal(runObjectName('data', 'snapshot', now), 'data-snapshot-1700000000');
    assert.equal(runObjectName('a'.repeat(80), 'snapshot', now).length, 63);
  });

  it('takes a VolumeSnapshot of the PVC with the chosen class and the run labels', () => {
    const labels = { 'app.kubernetes.io/managed-by': 'kubectl-datamover' };
    assert.deepEqual(buildSnapshot(source, 'data-snapshot-1', 'fast-snaps', labels), {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'data-snapshot-1', namespace: 'shop', labels },
      spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'fast-snaps' },
    });
  });

  it("restores into a PVC of the source's class and modes, sized by restoreSize", () => {
    const pvc = buildPvcFromSnapshot(source, snapshot({ readyToUse: true, restoreSize: '6Gi' }), 'p', {});
    assert.deepEqual(pvc.spec, {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      volumeMode: 'Filesystem',
      resources: { requests: { storage: '6Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'nightly' },
    });
    assert.equal(pvc.metadata?.namespace, 'shop');
  });

  it("sizes the PVC as the source's capacity when the snapshot has no restoreSize (or 0)", () => {
    for (const restoreSize of [undefined, '0']) {
      const pvc = buildPvcFromSnapshot(source, snapshot({ readyToUse: true, restoreSize }), 'p', {});
      assert.equal(pvc.spec?.resources?.requests?.storage, '8Gi');
    }
  });
});

describe('snapshot states', () => {
  it('takes a write conflict the snapshot-controller retries for no failure', () => {
    const conflict = 'Snapshot status update failed, Operation cannot be fulfilled ...: the object has been modified';
    assert.equal(snapshotFailure(snapshot({ error: { message: conflict } })), undefined);
    assert.equal(snapshotFailure(snapshot({ error: { message: 'no space' } })), 'no space');
  });

  it('accepts an existing snapshot that is ready to use', () => {
    assert.doesNotThrow(() => checkExistingSnapshot(snapshot({ readyToUse: true }), 'data'));
  });

  it('refuses an existing snapshot that is not ready to use yet', () => {
    assert.throws(
      () => checkExistingSnapshot(snapshot({ readyToUse: false, boundVolumeSnapshotContentName: 'c' }), 'data'),
      /VolumeSnapshot "nightly" is not ready to use \(not cut yet\)/,
    );
  });

  it('refuses an existing snapshot of another PVC', () => {
    assert.throws(
      () => checkExistingSnapshot(snapshot({ readyToUse: true }, 'other'), 'data'),
      /VolumeSnapshot "nightly" is of PVC "other", not "data"/,
    );
  });

  it('refuses a failed snapshot with its error', () => {
    assert.throws(
      () => checkExistingSnapshot(snapshot({ readyToUse: false, error: { message: 'disk gone' } }), 'data'),
      /VolumeSnapshot "nightly" failed: disk gone/,
    );
  });
});

describe('the snapshot API, when its CRDs are missing or an object is', () => {
  /** A connection whose API answers 404 for every custom object, and serves `groups`. */
  function fakeKube(groups: string[]): KubeConnection {
    const notFound = () => Promise.reject(new ApiException(404, 'not found', '404 page not found', {}));
    const apis = {
      getAPIVersions: async () => ({ groups: groups.map((name) => ({ name, versions: [{ version: 'v1' }] })) }),
    };
    const custom = { listClusterCustomObject: notFound, getNamespacedCustomObject: notFound };
    return {
      config: { makeApiClient: (api: unknown) => (api === ApisApi ? apis : custom) },
      namespace: 'shop',
      server: 'https://k8s',
      contextName: 'test',
      call: (_action: unknown, request: () => Promise<unknown>) => request(),
    } as unknown as KubeConnection;
  }

  it('says the snapshot CRDs are not installed when snapshot.storage.k8s.io/v1 is not served', async () => {
    await assert.rejects(
      listSnapshotClasses(fakeKube(['apps'])),
      (err: unknown) =>
        err instanceof UserError &&
        /VolumeSnapshots are not available in this cluster \(snapshot\.storage\.k8s\.io\/v1 is not served/.test(
          err.message,
        ) &&
        /external-snapshotter, or use --source clone or --source live/.test(err.fix),
    );
  });

  it('finds no snapshot of that name when the API is served', async () => {
    assert.equal(await getSnapshot(fakeKube(['snapshot.storage.k8s.io']), 'shop', 'nope'), undefined);
  });
});
