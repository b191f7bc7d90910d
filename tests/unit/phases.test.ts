import assert from 'node:assert/strict';
import { OPERATOR_PHASES, TIMED_PHASES } from '../../lib/phases.ts';

describe('phases', () => {
  it("times only phases the operator names, plus local mode's Transferring", () => {
    const known = new Set<string>([...OPERATOR_PHASES, 'Transferring']);
    assert.deepEqual(
      TIMED_PHASES.filter((phase) => !known.has(phase)),
      [],
    );
  });

  it('does not time the end states Completed and Failed', () => {
    const timed = new Set<string>(TIMED_PHASES);
    assert.deepEqual(
      ['Completed', 'Failed'].filter((phase) => timed.has(phase)),
      [],
    );
  });
});
