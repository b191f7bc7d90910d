// The bed refuses what a kubelet and a CSI driver refuse, and the plugin copes: a WaitForFirstConsumer
// StorageClass binds a PVC only once a pod that uses it is scheduled (GKE's and EKS's defaults), an
// image the node does not have is ErrImagePull, an env reference to a missing Secret key is
// CreateContainerConfigError, a ReadWriteOnce volume in use on one node cannot be mounted on another
// (Multi-Attach). Each time the pod is never Running, and the plugin says so in one line. A pod past its
// activeDeadlineSeconds is failed and its execs cut; a provisioner's transient failures are retried.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
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
  userEnv,
  volumeFolder,
  waitForManagedPod,
} from './support/bed.ts';
import { snapshot } from './support/tree.ts';
import { bucketPath, createStorageSecret, emptyBucket, expectedObjects, objectsIn } from './support/storage.ts';
import { NODE_IMAGES, NODE_NAME, SECOND_NODE_NAME } from '../testbed/cluster.ts';
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

/** A pod on the given node that mounts the claim read-write (an app using its volume); Ready. */
async function podOnNode(namespace: string, name: string, claim: string, node: string): Promise<void> {
  await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  containers: [{name: main, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claim}}}]
`);
  await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', `pod/${name}`, '-n', namespace]);
}

/** The messages of the events of one object with this reason, oldest first, and their counts. */
async function eventsOf(namespace: string, name: string, reason: string): Promise<Array<[string, number]>> {
  const list = JSON.parse(
    String(
      (await kubectl(['get', 'events', '-n', namespace, '-o', 'json', '--field-selector', `reason=${reason}`])).stdout,
    ),
  ) as { items: Array<{ involvedObject: { name: string }; message: string; count?: number }> };
  return list.items.filter((e) => e.involvedObject.name === name).map((e) => [e.message, e.count ?? 1]);
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
  describe('activeDeadlineSeconds', () => {
    it('fails a pod past its deadline (Failed, DeadlineExceeded) and cuts a long exec into it', async () => {
      const created = Date.now();
      await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: brief, namespace: ${ns.name}}
spec:
  activeDeadlineSeconds: 4
  containers: [{name: main, image: busybox}]
`);
      await kubectl(['wait', '--for=condition=Ready', '--timeout=60s', 'pod/brief', '-n', ns.name]);
      const exec = execa(
        'kubectl',
        ['exec', 'brief', '-n', ns.name, '--', 'sh', '-c', 'echo started; exec sleep 300'],
        {
          env: userEnv(),
          extendEnv: false,
          reject: false,
        },
      );
      await new Promise<void>((resolve) =>
        exec.stdout!.on('data', (chunk: Buffer) => chunk.includes('started') && resolve()),
      );
      const ended = await exec;
      const ran = Date.now() - created;
      assert.notEqual(ended.exitCode, 0);
      assert.ok(ran >= 4000 && ran < 30_000, `the exec ended ${ran} ms after the pod was created`);
      assert.equal(await jsonpath(ns.name, 'pod/brief', '.status.phase'), 'Failed');
      assert.equal(await jsonpath(ns.name, 'pod/brief', '.status.reason'), 'DeadlineExceeded');
      assert.equal(
        await jsonpath(ns.name, 'pod/brief', '.status.containerStatuses[0].state.terminated.exitCode'),
        '137',
      );
      // Its container is gone: no new exec either.
      const again = await kubectl(['exec', 'brief', '-n', ns.name, '--', 'true'], { reject: false });
      assert.notEqual(again.exitCode, 0);
    });
  });

  describe('two nodes and ReadWriteOnce volumes', () => {
    beforeEach(async () => {
      emptyBucket();
      await createStorageSecret(ns.name);
    });

    it('a volume in use on one node is not mounted on the other (Multi-Attach) until that pod is gone', async () => {
      await createBoundPvc(ns.name, 'data');
      await podOnNode(ns.name, 'app', 'data', SECOND_NODE_NAME);
      await applyYaml(`apiVersion: v1
kind: Pod
metadata: {name: other, namespace: ${ns.name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${NODE_NAME}}
  containers: [{name: main, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`);
      const volume = await jsonpath(ns.name, 'pvc/data', '.spec.volumeName');
      for (const deadline = Date.now() + 20_000; ; await sleep(200)) {
        const events = await eventsOf(ns.name, 'other', 'FailedAttachVolume');
        if (events.length > 0) {
          assert.equal(events[0]![0], `Multi-Attach error for volume "${volume}" Volume is already used by pod(s) app`);
          break;
        }
        assert.ok(Date.now() < deadline, 'no FailedAttachVolume event for pod "other"');
      }
      await waitingMessage(ns.name, 'other', 'ContainerCreating');
      // Another pod on the volume's node mounts it.
      await podOnNode(ns.name, 'neighbour', 'data', SECOND_NODE_NAME);
      assert.equal(await jsonpath(ns.name, 'pod/other', '.status.phase'), 'Pending');
      await kubectl(['delete', 'pod', 'app', 'neighbour', '-n', ns.name, '--wait=false']);
      await kubectl(['wait', '--for=condition=Ready', '--timeout=30s', 'pod/other', '-n', ns.name]);
    });

    it('backup --no-clone of a PVC in use on the second node runs its helper there: bytes equal', async () => {
      const source = await createBoundPvc(ns.name, 'data');
      writeTree(source);
      await podOnNode(ns.name, 'app', 'data', SECOND_NODE_NAME);
      const run = dm(ns.name, ['backup', 'data', '--secret', 's3', '--no-clone', '--timeout', '60s']);
      const helper = await waitForManagedPod(ns.name, run);
      const result = await run;
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      assert.deepEqual(await eventsOf(ns.name, helper, 'FailedAttachVolume'), []);
      assert.equal(await managedLeftovers(ns.name), '');
    });

    it('verify --against-pvc of a PVC in use on the second node runs its helper there: it matches', async () => {
      const source = await createBoundPvc(ns.name, 'data');
      writeTree(source);
      assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3'])).exitCode, 0);
      await podOnNode(ns.name, 'app', 'data', SECOND_NODE_NAME);
      const result = await dm(ns.name, [
        'verify',
        '--secret',
        's3',
        '--from',
        'plain',
        '--against-pvc',
        'data',
        '--timeout',
        '60s',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stdout), /matches its manifest and PVC "data"/);
      assert.equal(await managedLeftovers(ns.name), '');
    });

    it('restore --overwrite into a PVC in use on the second node runs its helper there', async () => {
      const source = await createBoundPvc(ns.name, 'data');
      writeTree(source);
      assert.equal((await dm(ns.name, ['backup', 'data', '--secret', 's3'])).exitCode, 0);
      const target = await createBoundPvc(ns.name, 'live');
      writeFileSync(join(target, 'kept.txt'), 'kept\n');
      await podOnNode(ns.name, 'app', 'live', SECOND_NODE_NAME);
      const result = await dm(ns.name, [
        'restore',
        '--secret',
        's3',
        '--from',
        'plain',
        '--to-pvc',
        'live',
        '--overwrite',
        '--timeout',
        '60s',
      ]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const { 'kept.txt': kept, ...restored } = snapshot(target, { mtimes: true });
      assert.ok(kept);
      assert.deepEqual(restored, snapshot(source, { mtimes: true }));
      assert.equal(await managedLeftovers(ns.name), '');
    });

    it('a helper stuck on a Multi-Attach error fails in one line naming the pod that holds the volume', async () => {
      // The app starts on the second node after the plugin looked for the volume's users (a race a
      // real cluster has): a test policy holds the helper with a scheduling gate until the app runs.
      const gate = 'testbed.datamover.a-cup-of.coffee/test-hold';
      const policy = `test-hold-${ns.name}`;
      await applyYaml(holdPolicy(policy, ns.name, gate));
      try {
        const source = await createBoundPvc(ns.name, 'data');
        writeTree(source);
        await untilPolicyHolds(ns.name, gate);
        const run = dm(ns.name, ['backup', 'data', '--secret', 's3', '--no-clone', '--timeout', '60s']);
        const helper = await waitForManagedPod(ns.name, run);
        await podOnNode(ns.name, 'app', 'data', SECOND_NODE_NAME);
        const gates = JSON.parse(await jsonpath(ns.name, `pod/${helper}`, '.spec.schedulingGates')) as Array<{
          name: string;
        }>;
        const index = gates.findIndex((g) => g.name === gate);
        const patch = [
          { op: 'test', path: `/spec/schedulingGates/${index}/name`, value: gate },
          { op: 'remove', path: `/spec/schedulingGates/${index}` },
        ];
        await kubectl(['patch', 'pod', helper, '-n', ns.name, '--type=json', '-p', JSON.stringify(patch)]);
        const result = await run;
        assert.equal(result.exitCode, 1);
        const lines = String(result.stderr).trim().split('\n');
        const volume = await jsonpath(ns.name, 'pvc/data', '.spec.volumeName');
        assert.equal(
          lines.at(-1),
          `error: helper pod "${helper}" cannot mount its volume: Multi-Attach error for volume "${volume}" ` +
            'Volume is already used by pod(s) app; the volume is ReadWriteOnce and attached to another node: ' +
            'run again (the helper then runs on that node), or stop the pod(s) using it',
        );
        assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1);
        assert.equal(await managedLeftovers(ns.name), '');
        assert.deepEqual(objectsIn(bucketPath()), {});
      } finally {
        await kubectl(['delete', 'mutatingadmissionpolicy,mutatingadmissionpolicybinding', policy], { reject: false });
      }
    });
  });

  describe('transient provisioning failures', () => {
    beforeEach(async () => {
      emptyBucket();
      await createStorageSecret(ns.name);
    });

    it('a provisioner that fails twice, then binds: the bed retries and the backup waits it out', async () => {
      const source = await createBoundPvc(ns.name, 'data', { storageClass: bed().storageClasses.flaky });
      const busy = /^failed to provision volume with StorageClass "datamover-flaky": .*Unavailable/;
      const sourceEvents = await eventsOf(ns.name, 'data', 'ProvisioningFailed');
      assert.equal(sourceEvents.length, 1, JSON.stringify(sourceEvents));
      assert.match(sourceEvents[0]![0], busy);
      assert.equal(sourceEvents[0]![1], 2);
      writeTree(source);
      const result = await dm(ns.name, ['backup', 'data', '--secret', 's3']);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
      // The clone went through the same two failures.
      const clone = /data-cloned-\d+/.exec(String(result.stderr))![0];
      const cloneEvents = await eventsOf(ns.name, clone, 'ProvisioningFailed');
      assert.deepEqual(
        cloneEvents.map(([message, count]) => [busy.test(message), count]),
        [[true, 2]],
      );
      assert.equal(await managedLeftovers(ns.name), '');
    });

    it('a failure that goes on (a class that cannot clone) still fails in one line, within seconds', async () => {
      await createBoundPvc(ns.name, 'data', { storageClass: bed().storageClasses.noClone });
      const started = Date.now();
      const result = await dm(ns.name, ['backup', 'data', '--secret', 's3', '--timeout', '5m']);
      const took = Date.now() - started;
      assert.equal(result.exitCode, 1);
      const lines = String(result.stderr).trim().split('\n');
      assert.match(
        lines.at(-1)!,
        /^error: the clone "data-cloned-\d+" cannot be provisioned: StorageClass datamover-noclone does not support/,
      );
      assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1);
      assert.ok(took < 30_000, `took ${took} ms`);
      // The provisioner retried (one event, its count grown), and the plugin did not stop at the first.
      const clone = /data-cloned-\d+/.exec(lines.at(-1)!)![0];
      const [[, count] = ['', 0]] = await eventsOf(ns.name, clone, 'ProvisioningFailed');
      assert.ok(count >= 3, `the clone's provisioning failed ${count} times`);
      assert.equal(await managedLeftovers(ns.name), '');
    });
  });
});

/** A MutatingAdmissionPolicy that adds a scheduling gate to the plugin's pods in one namespace. */
function holdPolicy(name: string, namespace: string, gate: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: ${name}}
spec:
  matchConstraints:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${namespace}}}
    objectSelector: {matchLabels: {app.kubernetes.io/managed-by: kubectl-datamover}}
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  failurePolicy: Fail
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{spec: Object.spec{schedulingGates: [Object.spec.schedulingGates{name: "${gate}"}]}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: ${name}}
spec:
  policyName: ${name}
`;
}

/** Waits until the API server applies the policy (it learns of new policies asynchronously). */
async function untilPolicyHolds(namespace: string, gate: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; ; await sleep(250)) {
    const probe = `probe-${randomBytes(3).toString('hex')}`;
    await kubectl([
      'run',
      probe,
      '-n',
      namespace,
      '--image=busybox',
      '--restart=Never',
      '--labels=app.kubernetes.io/managed-by=kubectl-datamover',
    ]);
    const gates = await jsonpath(namespace, `pod/${probe}`, '.spec.schedulingGates[*].name');
    await kubectl(['delete', 'pod', probe, '-n', namespace, '--wait=true']);
    if (gates.split(' ').includes(gate)) return;
    assert.ok(Date.now() < deadline, 'the test policy did not take effect');
  }
}
