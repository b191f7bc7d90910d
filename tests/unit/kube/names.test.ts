import assert from 'node:assert/strict';
import { UsageError, exitCodeOf } from '../../../lib/errors.ts';
import { validateName } from '../../../lib/kube/names.ts';

describe('Kubernetes names', () => {
  for (const name of ['data', 'my-pvc.v2', '0abc', 'a']) {
    it(`accepts "${name}"`, () => {
      assert.doesNotThrow(() => validateName(name, '--secret'));
    });
  }

  for (const name of ['Data', 'my_pvc', '-data', 'data-', 'a..b', '.data', '']) {
    it(`refuses "${name}" as a usage error naming the flag`, () => {
      assert.throws(
        () => validateName(name, '--to-pvc'),
        (err: unknown) =>
          err instanceof UsageError &&
          exitCodeOf(err) === 2 &&
          err.message === `--to-pvc "${name}" is not a valid name`,
      );
    });
  }

  it('accepts a name of exactly 253 characters', () => {
    assert.doesNotThrow(() => validateName('a'.repeat(253), '--secret'));
  });

  it('refuses a name longer than 253 characters, saying so', () => {
    assert.throws(() => validateName('a'.repeat(254), '--secret'), /longer than 253 characters/);
  });

  it('applies a shorter limit when the caller gives one', () => {
    assert.throws(() => validateName('a'.repeat(64), 'PVC name', 63), /longer than 63 characters/);
  });
});
