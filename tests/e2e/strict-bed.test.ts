// The bed refuses what a kubelet and a CSI driver refuse, and the plugin copes: a WaitForFirstConsumer
// StorageClass binds a PVC only once a pod that uses it is scheduled (GKE's and EKS's defaults), an
// image the node does not have is ErrImagePull, an env reference to a missing Secret key is
// CreateContainerConfigError. Each time the pod is never Running, and the plugin says so in one line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyYaml,
  bed,
  createBoundPvc,
  createPodOnPvc,
  datamover,
  kubectl,
  managedLeftovers,
  managedPodsLeft,
  useNamespace,
  volumeFolder,
} from './support/bed.ts';
import { snapshot } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket, expectedObjects, objectsIn } from './support/storage.ts';
import { NODE_IMAGES, NODE_NAME } from '../testbed/cluster.ts';
import { normalizedImage } from '../testbed/kubelet-checks.ts';
import { DEFAULT_HELPER_IMAGE } from '../../lib/kube/helper-pod.ts';
import { OPERATOR_RCLONE_IMAGE } from '../../lib/check/in-cluster.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);

async function jsonpath(namespace: string, object: string, path: string): Promise<string> {
  return String((await kubectl(['get', object, '-n', namespace, '-o', `jsonpath={${path}}`])).stdout);
}

/** Polls until the pod's container waits for `reason`; returns its message. */
async function waitingMessage(namespace: string, pod: string, reason: string): Promise<string> {
  const state = '.status.containerStatuses[0].state.waiting';
  for (const deadline = Date.now() + 20_000; ; await sleep(200)) {
    const waiting = await jsonpath(namespace, `pod/${pod}`, state);
    if (waiting && JSON.parse(waiting).reason === reason) return JSON.parse(waiting).message;
    if (Date.now() > deadline) throw new Error(`pod ${pod} is not waiting on ${reason}: ${waiting}`);
  }
}

/** A PVC of the WaitForFirstConsumer class, bound by a pod that uses it (as an app would); its folder. */
async function consumedPvc(namespace: string, name: string, storageClass: string): Promise<string> {
  await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${storageClass}
  resources: {requests: {storage: 1Gi}}
`);
  await createPodOnPvc(namespace, `app-${name}`, name);
  return volumeFolder(namespace, name);
}

/** Files, a folder and a symlink, readable by the helper pod's user (65534). */
function writeTree(root: string): void {
  mkdirSync(join(root, 'nested'), { recursive: true });
  writeFileSync(join(root, 'nested', 'random.bin'), randomBytes(1024 * 1024));
  writeFileSync(join(root, 'note.txt'), 'note\n');
  symlinkSync('nested/random.bin', join(root, 'link'));
}

describe('a test bed as strict as a kubelet and a CSI driver', () => {
  const ns = useNamespace('strict');

  describe('WaitForFirstConsumer', () => {
    beforeEach(async () => {
      emptyBucket();
      await createStorageSecret(ns.name);
    });

    it('binds a PVC only once a pod that uses it is scheduled, on that pod’s node', async () => {
      await applyYaml(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late, namespace: ${ns.name}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${bed().storageClasses.waitForConsumer}
  resources: {requests: {storage: 1Gi}}
`);
      await sleep(2000);
      assert.equal(await jsonpath(ns.name, 'pvc/late', '.status.phase'), 'Pending');
      assert.equal(await jsonpath(ns.name, 'pvc/late', '.spec.volumeName'), '');
      const events = await kubectl(['get', 'events', '-n', ns.name, '--field-selector', 'involvedObject.name=late']);
      assert.match(String(events.stdout), /WaitForFirstConsumer/);

      await createPodOnPvc(ns.name, 'consumer', 'late');
      assert.equal(await jsonpath(ns.name, 'pvc/late', '.status.phase'), 'Bound');
      const selected = 'volume\\.kubernetes\\.io/selected-node';
      assert.equal(await jsonpath(ns.name, 'pvc/late', `.metadata.annotations.${selected}`), NODE_NAME);
      const volume = await jsonpath(ns.name, 'pvc/late', '.spec.volumeName');
      const affinity = JSON.parse(
        String((await kubectl(['get', 'pv', volume, '-o', 'jsonpath={.spec.nodeAffinity}'])).stdout),
      );
      assert.deepEqual(affinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [NODE_NAME]);
    });

    it('backs up a PVC whose clone binds only once the helper pod uses it: bytes equal, nothing left', async () => {
      const source = await consumedPvc(ns.name, 'data', bed().storageClasses.waitForConsumer);
      writeTree(source);
      const result = await dm(ns.name, ['backup', 'data', '--secret', 's3']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /data-cloned-\d+, bound once the helper pod uses it/);
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      assert.equal(await managedLeftovers(ns.name), '');
    });

    it('restore --create into a WaitForFirstConsumer class: the new PVC holds the backup, no pod left', async () => {
      const source = await createBoundPvc(ns.name, 'data');
      writeTree(source);
      assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3'])).exitCode, 0);
      const result = await dm(ns.name, [
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
        '--storage-class',
        bed().storageClasses.waitForConsumer,
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /created restored \(1Gi\), bound once the helper pod uses it/);
      const restored = await volumeFolder(ns.name, 'restored');
      assert.deepEqual(snapshot(restored, { mtimes: true }), snapshot(source, { mtimes: true }));
      assert.deepEqual(await managedPodsLeft(ns.name), []);
    });

    it('names the provisioner’s refusal of the clone in one line, and leaves no clone or pod', async () => {
      await consumedPvc(ns.name, 'data', bed().storageClasses.waitForConsumerNoClone);
      const result = await dm(ns.name, ['backup', 'data', '--secret', 's3']);
      assert.equal(result.exitCode, 1);
      assert.match(
        String(result.stderr).trim().split('\n').at(-1)!,
        new RegExp(
          '^error: the clone "data-cloned-\\d+" cannot be provisioned: StorageClass datamover-wffc-noclone does ' +
            'not support cloning \\(dataSource data\\); use a StorageClass whose CSI driver supports cloning',
        ),
      );
      assert.equal(await managedLeftovers(ns.name), '');
    });
  });

  describe('images', () => {
    it('holds the plugin’s default images and the ones the tests use', () => {
      const present = NODE_IMAGES.map(normalizedImage);
      for (const image of [DEFAULT_HELPER_IMAGE, OPERATOR_RCLONE_IMAGE, 'busybox', 'rclone/rclone:1.76'])
        assert.ok(present.includes(normalizedImage(image)), `${image} is not among ${present.join(', ')}`);
    });

    it('a pod with another image gets ErrImagePull, then ImagePullBackOff, and is never Running', async () => {
      await kubectl(['run', 'elsewhere', '-n', ns.name, '--image=no.such/image:1', '--restart=Never']);
      assert.match(await waitingMessage(ns.name, 'elsewhere', 'ImagePullBackOff'), /"no\.such\/image:1"/);
      await sleep(1000);
      assert.equal(await jsonpath(ns.name, 'pod/elsewhere', '.status.phase'), 'Pending');
      assert.equal(await jsonpath(ns.name, 'pod/elsewhere', '.spec.nodeName'), NODE_NAME);
    });

    it('backup --helper-image no.such/image:1 fails in one line naming the flag, and leaves nothing', async () => {
      emptyBucket();
      await createBoundPvc(ns.name, 'data');
      await createStorageSecret(ns.name);
      const result = await dm(ns.name, ['backup', 'data', '--secret', 's3', '--helper-image', 'no.such/image:1']);
      assert.equal(result.exitCode, 1);
      const lines = String(result.stderr).trim().split('\n');
      assert.match(
        lines.at(-1)!,
        new RegExp(
          '^error: helper pod "datamover-data-[0-9a-f]{6}" cannot start: (ErrImagePull|ImagePullBackOff) ' +
            'for image "no\\.such/image:1"; pass an image the cluster can pull with --helper-image$',
        ),
      );
      assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1);
      assert.equal(await managedLeftovers(ns.name), '');
      assert.deepEqual(objectsIn(bucketPath()), {});
    });
  });

  describe('Secret references', () => {
    it('a pod whose env needs a missing Secret or key is CreateContainerConfigError until it appears', async () => {
      await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: needs-key, namespace: ${ns.name}}
spec:
  containers:
  - name: main
    image: busybox
    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}]
`);
      assert.equal(
        await waitingMessage(ns.name, 'needs-key', 'CreateContainerConfigError'),
        'secret "creds" not found',
      );
      await kubectl(['create', 'secret', 'generic', 'creds', '-n', ns.name, '--from-literal=other=x']);
      for (const deadline = Date.now() + 20_000; ; await sleep(200)) {
        const message = await waitingMessage(ns.name, 'needs-key', 'CreateContainerConfigError');
        if (message === `couldn't find key token in Secret ${ns.name}/creds`) break;
        assert.ok(Date.now() < deadline, `still: ${message}`);
      }
      assert.equal(await jsonpath(ns.name, 'pod/needs-key', '.status.phase'), 'Pending');
      await kubectl(['patch', 'secret', 'creds', '-n', ns.name, '-p', '{"stringData":{"token":"t"}}']);
      await kubectl(['wait', '--for=condition=Ready', '--timeout=20s', 'pod/needs-key', '-n', ns.name]);
    });

    it('check --in-cluster names the key its pod cannot have, in one FAIL line, and removes the pod', async () => {
      await createStorageSecret(ns.name);
      // The Secret loses a key between check's own reading of it and its pod's start (a rotation, an
      // operator syncing it): an rclone that removes it on the last local probe, then runs the real one.
      const dir = mkdtempSync(join(tmpdir(), 'datamover-strict-'));
      try {
        const rclone = join(dir, 'rclone');
        const patch = '[{"op":"remove","path":"/data/AWS_SECRET_ACCESS_KEY"}]';
        writeFileSync(
          rclone,
          [
            '#!/bin/sh',
            `[ "$1" = deletefile ] && ${bed().kubectl} --kubeconfig ${bed().kubeconfig} -n ${ns.name} \\`,
            `  patch secret s3 --type=json -p '${patch}' >/dev/null`,
            `exec ${bed().rcloneNew} "$@"`,
            '',
          ].join('\n'),
        );
        chmodSync(rclone, 0o755);
        const result = await dm(ns.name, ['check', '--secret', 's3', '--in-cluster', '--rclone', rclone]);
        assert.equal(result.exitCode, 1, String(result.stdout));
        const failed = String(result.stdout)
          .split('\n')
          .filter((l) => l.startsWith('FAIL'));
        assert.equal(failed.length, 1, String(result.stdout));
        assert.match(
          failed[0]!,
          new RegExp(
            `^FAIL  start a pod in namespace ${ns.name}: pod "datamover-check-[0-9a-f]{6}" cannot start: ` +
              `couldn't find key AWS_SECRET_ACCESS_KEY in Secret ${ns.name}/s3; check the Secret`,
          ),
        );
        assert.equal(await managedLeftovers(ns.name), '');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
