// One mocha test per fault of the matrix and operation it applies to.
import assert from 'node:assert/strict';
import { type Fault, FAULTS, type Operation, runFaultCase } from './matrix.ts';

export function describeFaults(title: string, only: Operation | 'any', include: (fault: Fault) => boolean): void {
  describe(title, function () {
    // A case is three runs of the plugin (setup, faulted, re-run) on a loaded machine.
    this.timeout(300_000);
    for (const fault of FAULTS.filter(include)) {
      for (const operation of fault.operations.filter((o) => only === 'any' || o === only)) {
        it(`${operation}: ${fault.title} (${fault.expected})`, async () => {
          const outcome = await runFaultCase(fault, operation);
          assert.deepEqual(outcome.problems, [], JSON.stringify(outcome, null, 1));
        });
      }
    }
  });
}
