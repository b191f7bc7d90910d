import assert from 'node:assert/strict';
import { parseOutputFormat, renderStructured } from '../../../lib/output/format.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('output format', () => {
  it('defaults to text and accepts the formats a command supports', () => {
    assert.equal(parseOutputFormat(undefined, ['text', 'json']), 'text');
    assert.equal(parseOutputFormat('json', ['text', 'json']), 'json');
  });

  it('refuses a format the command does not support, listing those it does', () => {
    assert.throws(
      () => parseOutputFormat('wide', ['text', 'json', 'yaml']),
      (err: unknown) => err instanceof UsageError && err.fix === 'use -o json|yaml',
    );
  });

  it('renders YAML that reads back as the same object', async () => {
    const { loadYaml } = await import('@kubernetes/client-node');
    const value = { kind: 'DataMover', spec: { sourcePvc: 'data', additionalEnv: [{ name: 'A', value: '1' }] } };
    assert.deepEqual(loadYaml(await renderStructured(value, 'yaml')), value);
  });
});
