import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubeConfig } from '../../../lib/kube/kubeconfig.ts';
import { UserError } from '../../../lib/errors.ts';

function kubeconfig(cluster: string, server: string, current: string, namespace?: string): string {
  return `apiVersion: v1
kind: Config
current-context: ${current}
clusters:
- name: ${cluster}
  cluster: {server: ${server}}
users:
- name: ${cluster}-user
  user: {token: t}
contexts:
- name: ${cluster}
  context: {cluster: ${cluster}, user: ${cluster}-user${namespace ? `, namespace: ${namespace}` : ''}}
`;
}

describe('loadKubeConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('merges every KUBECONFIG file; the first one sets the current context', () => {
    const a = join(dir, 'a'),
      b = join(dir, 'b');
    writeFileSync(a, kubeconfig('one', 'https://one:6443', 'one'));
    writeFileSync(b, kubeconfig('two', 'https://two:6443', 'two'));
    const config = loadKubeConfig({ kubeconfigEnv: [a, b].join(delimiter) });
    assert.equal(config.getCurrentContext(), 'one');
    assert.deepEqual(
      config
        .getContexts()
        .map((c) => c.name)
        .sort(),
      ['one', 'two'],
    );
  });

  it('keeps the first definition when two files define the same cluster name', () => {
    const a = join(dir, 'a'),
      b = join(dir, 'b');
    writeFileSync(a, kubeconfig('same', 'https://first:6443', 'same'));
    writeFileSync(b, kubeconfig('same', 'https://second:6443', 'same'));
    const config = loadKubeConfig({ kubeconfigEnv: [a, b].join(delimiter) });
    assert.equal(config.getCurrentCluster()?.server, 'https://first:6443');
  });

  it('selects --context from any merged file', () => {
    const a = join(dir, 'a'),
      b = join(dir, 'b');
    writeFileSync(a, kubeconfig('one', 'https://one:6443', 'one'));
    writeFileSync(b, kubeconfig('two', 'https://two:6443', 'two', 'team-b'));
    const config = loadKubeConfig({ kubeconfigEnv: [a, b].join(delimiter), context: 'two' });
    assert.equal(config.getCurrentCluster()?.server, 'https://two:6443');
    assert.equal(config.getContextObject('two')?.namespace, 'team-b');
  });

  it('names the missing context and the known ones', () => {
    const a = join(dir, 'a');
    writeFileSync(a, kubeconfig('one', 'https://one:6443', 'one'));
    assert.throws(
      () => loadKubeConfig({ kubeconfig: a, context: 'nope' }),
      (err: unknown) => err instanceof UserError && /context "nope" does not exist.*known: one/.test(err.message),
    );
  });

  it('refuses a kubeconfig without a current context', () => {
    const a = join(dir, 'a');
    writeFileSync(a, kubeconfig('one', 'https://one:6443', '""'));
    assert.throws(
      () => loadKubeConfig({ kubeconfig: a }),
      (err: unknown) => err instanceof UserError && /no current context/.test(err.message),
    );
  });

  it('says which --kubeconfig file does not exist', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: join(dir, 'missing') }),
      (err: unknown) => err instanceof UserError && err.message.includes(join(dir, 'missing')),
    );
  });

  it('says when no kubeconfig exists at all', () => {
    assert.throws(
      () => loadKubeConfig({ home: dir }),
      (err: unknown) => err instanceof UserError && /no kubeconfig found/.test(err.message),
    );
  });
});
