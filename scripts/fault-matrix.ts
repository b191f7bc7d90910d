// Runs the fault matrix on the test bed (bringing one up if none is) and
// writes the results as docs/reliability.md. Usage: npm run faults [-- FAULT_ID ...]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULTS, runFaultCase, type FaultOutcome } from '../tests/faults/matrix.ts';
import { reliabilityDoc } from '../tests/faults/report.ts';
import { down, readBed, up } from '../tests/testbed/bed.ts';
import { REPO_ROOT } from '../tests/testbed/paths.ts';

const only = process.argv.slice(2);
const startedHere = !readBed();
if (startedHere) await up((line) => process.stderr.write(`[testbed] ${line}\n`));
const outcomes: FaultOutcome[] = [];
try {
  for (const fault of FAULTS.filter((f) => only.length === 0 || only.includes(f.id))) {
    for (const operation of fault.operations) {
      process.stderr.write(`[faults] ${operation}: ${fault.title} ... `);
      const outcome = await runFaultCase(fault, operation);
      outcomes.push(outcome);
      process.stderr.write(
        `${outcome.survived ? 'survived' : 'NOT SURVIVED'} (${outcome.ending}, ${outcome.seconds}s)\n`,
      );
      if (!outcome.survived) process.stderr.write(`${JSON.stringify(outcome, null, 1)}\n`);
    }
  }
} finally {
  if (startedHere) await down();
}

const survived = outcomes.filter((o) => o.survived).length;
const lost = outcomes.reduce((sum, o) => sum + o.bytesLost, 0);
const doc = reliabilityDoc(outcomes);
writeFileSync(join(REPO_ROOT, 'docs', 'reliability.md'), doc);
process.stderr.write(
  `[faults] ${survived}/${outcomes.length} survived, ${lost} bytes lost; wrote docs/reliability.md\n`,
);
process.exitCode = survived === outcomes.length ? 0 : 1;
