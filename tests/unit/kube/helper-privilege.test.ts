import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { UsageError } from '../../../lib/errors.ts';
import { describeApiError, isPodSecurityRefusal } from '../../../lib/kube/api-errors.ts';
import { buildHelperPod, idleCommand, READ_ANY_FILE, WRITE_ANY_FILE } from '../../../lib/kube/helper-pod.ts';
import { parseRunAs } from '../../../lib/kube/helper-pod-options.ts';

const spec = {
  name: 'datamover-data-abc123',
  namespace: 'apps',
  claimName: 'data',
  image: 'busybox:1.37',
  readOnly: true,
  labels: {},
  deadlineSeconds: 3600,
};

describe('--run-as', () => {
  it('reads auto, root, UID and UID:GID', () => {
    assert.deepEqual(parseRunAs('auto'), { kind: 'auto' });
    assert.deepEqual(parseRunAs('root'), { kind: 'root' });
    assert.deepEqual(parseRunAs('999'), { kind: 'user', uid: 999, gid: 999 });
    assert.deepEqual(parseRunAs('1000:2000'), { kind: 'user', uid: 1000, gid: 2000 });
  });

  it('takes uid 0 for root', () => {
    assert.deepEqual(parseRunAs('0:0'), { kind: 'root' });
  });

  it('refuses anything else as a usage error naming the flag', () => {
    for (const bad of ['', 'admin', '-1', '1:', ':1', '99999999999', '1.5'])
      assert.throws(
        () => parseRunAs(bad),
        (err: unknown) => err instanceof UsageError && /--run-as/.test(err.message),
        bad,
      );
  });
});

describe('helper pod privilege', () => {
  it('runs as nobody with every capability dropped by default (Pod Security restricted)', () => {
    const pod = buildHelperPod(spec);
    assert.deepEqual([pod.spec?.securityContext?.runAsUser, pod.spec?.securityContext?.runAsNonRoot], [65534, true]);
    assert.deepEqual(pod.spec?.containers[0]?.securityContext?.capabilities, { drop: ['ALL'] });
  });

  it('reads as root with DAC_OVERRIDE alone, never privilege escalation, a read-only root', () => {
    const pod = buildHelperPod({ ...spec, privilege: READ_ANY_FILE });
    const ctx = pod.spec?.containers[0]?.securityContext;
    assert.deepEqual([pod.spec?.securityContext?.runAsUser, pod.spec?.securityContext?.runAsNonRoot], [0, false]);
    assert.deepEqual(ctx?.capabilities, { drop: ['ALL'], add: ['DAC_OVERRIDE'] });
    assert.deepEqual([ctx?.allowPrivilegeEscalation, ctx?.readOnlyRootFilesystem], [false, true]);
  });

  it('restores with the capabilities tar -x needs for owners and modes, all of them admitted by baseline', () => {
    const add = buildHelperPod({ ...spec, privilege: WRITE_ANY_FILE }).spec?.containers[0]?.securityContext
      ?.capabilities?.add;
    assert.deepEqual(add, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID']);
  });
});

describe('Pod Security refusals', () => {
  const refusal = new ApiException(
    403,
    'Forbidden',
    JSON.stringify({
      kind: 'Status',
      message: 'pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
    }),
    {},
  );

  it('are told apart from RBAC refusals', () => {
    assert.equal(isPodSecurityRefusal(refusal), true);
    assert.equal(
      isPodSecurityRefusal(new ApiException(403, 'Forbidden', '{"message":"pods is forbidden"}', {})),
      false,
    );
  });

  it('say what the admission said, not that RBAC forbids creating pods', () => {
    const err = describeApiError(refusal, { verb: 'create', resource: 'pods', name: 'x', namespace: 'apps' });
    assert.match(err.message, /Pod Security admission refused pod "x".*violates PodSecurity "restricted:latest"/);
    assert.equal(isPodSecurityRefusal(err), true);
  });
});

describe('a helper pod that runs a server', () => {
  const server = { command: ['serve'], env: [{ name: 'X', value: 'y' }], port: 8080, scratch: '/run/x' };

  it('runs its command with its env and port, a memory emptyDir for scratch, the volume still read-only', () => {
    const container = buildHelperPod({ ...spec, server }).spec!.containers[0]!;
    assert.deepEqual(container.command, ['serve']);
    assert.deepEqual(container.env, server.env);
    assert.deepEqual(container.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(container.volumeMounts, [
      { name: 'data', mountPath: '/data', readOnly: true },
      { name: 'scratch', mountPath: '/run/x' },
    ]);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    const scratch = buildHelperPod({ ...spec, server }).spec!.volumes!.find((v) => v.name === 'scratch');
    assert.deepEqual(scratch?.emptyDir, { medium: 'Memory', sizeLimit: '1Mi' });
  });

  it('idles without one: no ports, no env, only the volume', () => {
    const container = buildHelperPod(spec).spec!.containers[0]!;
    assert.deepEqual(container.command, idleCommand(3600));
    assert.equal(container.ports, undefined);
    assert.equal(container.volumeMounts!.length, 1);
  });
});
