import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { UsageError, UserError, exitCodeOf, formatErrorLine, formatErrorTrace } from '../../lib/errors.ts';

describe('errors', () => {
  it('prints a UserError as one line: what went wrong; what to do', () => {
    const line = formatErrorLine(new UserError('PVC "data" is not Bound', 'wait for it to bind'));
    assert.equal(line, 'error: PVC "data" is not Bound; wait for it to bind');
  });

  it('exits 2 for usage errors and 1 for everything else', () => {
    assert.equal(exitCodeOf(new UsageError('bad flag', 'fix it')), 2);
    assert.equal(exitCodeOf(new UserError('bad', 'fix')), 1);
    assert.equal(exitCodeOf(new Error('boom')), 1);
  });

  it('keeps only the first line of a library error, which is where headers and bodies are not', () => {
    const err = new ApiException(500, 'boom', '{"secret":"s3cr3t"}', { authorization: 'Bearer abc' });
    const line = formatErrorLine(err);
    assert.equal(line.split('\n').length, 1);
    assert.doesNotMatch(line, /s3cr3t|Bearer/);
  });

  it('redacts response bodies from the -v=6 trace', () => {
    const err = new ApiException(500, 'boom', '{"data":{"AWS_SECRET_ACCESS_KEY":"czNjcjN0"}}', {});
    assert.doesNotMatch(formatErrorTrace(err), /czNjcjN0/);
  });
});
