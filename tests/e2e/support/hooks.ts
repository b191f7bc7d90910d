// Mocha global fixtures: the e2e suite runs on the real test bed. A bed that is
// already up (npm run testbed -- up) is reused and left running; otherwise one
// is brought up for the run and taken down at the end. Global fixtures run once
// in mocha's main process, also with --parallel, where every worker then finds
// the bed through its state folder.
import { down, readBed, up } from '../../testbed/bed.ts';

let startedHere = false;

export async function mochaGlobalSetup(): Promise<void> {
  if (readBed()) return;
  await up((line) => process.stderr.write(`[testbed] ${line}\n`));
  startedHere = true;
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (startedHere) await down();
}
