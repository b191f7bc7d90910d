import assert from 'node:assert/strict';
import { kubectlError, requireKubectl } from '../../../lib/kube/port-forward.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

describe('kubectlError', () => {
  it('takes the err="..." of a klog line, unquoted', () => {
    const line =
      'E1207 17:45:44.123456    4242 portforward.go:424] "Unhandled Error" err="an error occurred forwarding ' +
      '40211 -> 8080: error forwarding port 8080 to pod p, uid : dial tcp4 127.0.0.1:8080: connect: ' +
      'connection refused: \\"quoted\\""';
    assert.equal(
      kubectlError(line),
      'an error occurred forwarding 40211 -> 8080: error forwarding port 8080 to pod p, uid : ' +
        'dial tcp4 127.0.0.1:8080: connect: connection refused: "quoted"',
    );
  });

  it('takes a klog line without err= as it is, and a final "error: " line without its prefix', () => {
    assert.equal(kubectlError('E1207 17:45:44.123456 1 portforward.go:1] lost connection'), 'lost connection');
    assert.equal(kubectlError('error: lost connection to pod'), 'lost connection to pod');
    assert.equal(
      kubectlError('error: unable to forward port because pod is not running. Current status=Pending'),
      'unable to forward port because pod is not running. Current status=Pending',
    );
  });

  it('says nothing for a blank line', () => {
    assert.equal(kubectlError('   '), undefined);
  });
});

describe('requireKubectl', () => {
  it('passes when an executable kubectl is in a PATH folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-path-'));
    writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
    assert.doesNotThrow(() => requireKubectl(['/nonexistent', dir].join(delimiter)));
  });

  it('fails in one line naming kubectl and PATH when none is there, or it is not executable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-path-'));
    writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\n', { mode: 0o644 });
    assert.throws(() => requireKubectl(dir), {
      message: '--transport port-forward runs "kubectl port-forward", and no kubectl is on PATH',
    });
  });
});
