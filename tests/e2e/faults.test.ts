// The fault matrix (tests/faults/matrix.ts), one test per fault and operation:
// the fault happened, the faulted run kept the README's promise for it (resumed,
// recovered, or failed cleanly leaving nothing partial), judged before any
// re-run, and the re-run lost no byte. scripts/fault-matrix.ts runs the same
// cases and writes the table in docs/reliability.md.
import assert from 'node:assert/strict';
import { FAULTS, runFaultCase } from '../faults/matrix.ts';

describe('fault matrix', () => {
  for (const fault of FAULTS) {
    for (const operation of fault.operations) {
      it(`${operation}: ${fault.title} (${fault.expected})`, async () => {
        const outcome = await runFaultCase(fault, operation);
        assert.deepEqual(outcome.problems, [], JSON.stringify(outcome, null, 1));
      });
    }
  }
});
