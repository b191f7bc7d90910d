import assert from 'node:assert/strict';
import { helperResources, parseResourceList } from '../../../lib/kube/resources.ts';
import { DEFAULT_HELPER_RESOURCES } from '../../../lib/kube/helper-pod.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('helper pod resources', () => {
  it('parses NAME=QUANTITY lists', () => {
    assert.deepEqual(parseResourceList('cpu=250m, memory=1.5Gi,ephemeral-storage=10G', '--requests'), {
      cpu: '250m',
      memory: '1.5Gi',
      'ephemeral-storage': '10G',
    });
  });

  for (const bad of ['cpu', 'gpu=1', 'cpu=lots', 'memory=512MB', 'cpu=1=2', 'memory=-1Gi']) {
    it(`refuses "${bad}" naming the flag`, () => {
      assert.throws(
        () => parseResourceList(bad, '--limits'),
        (err: Error) => err instanceof UsageError && err.message.includes('--limits'),
      );
    });
  }

  it("keeps the guide's defaults for the half not given", () => {
    assert.deepEqual(helperResources(undefined, undefined), DEFAULT_HELPER_RESOURCES);
    assert.deepEqual(helperResources('cpu=1', undefined), {
      requests: { cpu: '1' },
      limits: DEFAULT_HELPER_RESOURCES.limits,
    });
  });
});
