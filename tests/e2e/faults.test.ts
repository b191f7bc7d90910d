// The fault matrix (tests/faults/matrix.ts), one test per fault and operation:
// every fault is survived with 0 bytes lost. scripts/fault-matrix.ts runs the
// same cases and writes the table in docs/reliability.md.
import assert from 'node:assert/strict';
import { FAULTS, runFaultCase } from '../faults/matrix.ts';

describe('fault matrix', () => {
  for (const fault of FAULTS) {
    for (const operation of fault.operations) {
      it(`${operation}: ${fault.title}`, async () => {
        const outcome = await runFaultCase(fault, operation);
        const detail = JSON.stringify(outcome, null, 1);
        assert.notEqual(outcome.ending, 'bad ending', detail);
        assert.deepEqual(outcome.leftovers, [], detail);
        assert.deepEqual(outcome.partialFiles, [], detail);
        assert.equal(outcome.rerunExitCode, 0, detail);
        assert.equal(outcome.bytesLost, 0, detail);
      });
    }
  }
});
