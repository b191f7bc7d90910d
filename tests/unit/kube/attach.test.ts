import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { nodeOfUsers } from '../../../lib/kube/attach.ts';
import { buildHelperPod } from '../../../lib/kube/helper-pod.ts';

function pod(name: string, claim: string, node: string | undefined, phase: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: node,
      containers: [{ name: 'main' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
    status: { phase },
  };
}

describe('where a ReadWriteOnce volume in use is attached', () => {
  it('is the node of the running pods that use the claim', () => {
    const pods = [pod('app', 'data', 'n1', 'Running'), pod('other', 'other', 'n0', 'Running')];
    assert.equal(nodeOfUsers(pods, 'data'), 'n1');
  });

  it('prefers running pods to pending ones (which wait for the attach)', () => {
    const pods = [pod('stuck', 'data', 'n0', 'Pending'), pod('app', 'data', 'n1', 'Running')];
    assert.equal(nodeOfUsers(pods, 'data'), 'n1');
  });

  it('counts a scheduled pod that is not running yet, but not an unscheduled or finished one', () => {
    assert.equal(nodeOfUsers([pod('starting', 'data', 'n1', 'Pending')], 'data'), 'n1');
    assert.equal(nodeOfUsers([pod('queued', 'data', undefined, 'Pending')], 'data'), undefined);
    assert.equal(
      nodeOfUsers([pod('done', 'data', 'n1', 'Succeeded'), pod('x', 'data', 'n0', 'Failed')], 'data'),
      undefined,
    );
  });

  it('is none when the users run on several nodes (the volume is not attached to one only)', () => {
    const pods = [pod('a', 'data', 'n0', 'Running'), pod('b', 'data', 'n1', 'Running')];
    assert.equal(nodeOfUsers(pods, 'data'), undefined);
  });

  it('puts the helper pod on that node by a required node affinity, and nowhere in particular without one', () => {
    const spec = {
      name: 'h',
      namespace: 'ns',
      claimName: 'data',
      image: 'busybox',
      readOnly: true,
      labels: {},
      deadlineSeconds: 3600,
    };
    const pinned = buildHelperPod({ ...spec, node: 'n1' }).spec!.affinity!.nodeAffinity!;
    assert.deepEqual(pinned.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms, [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
    ]);
    assert.equal(buildHelperPod(spec).spec!.affinity, undefined);
  });
});
