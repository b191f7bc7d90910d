// Mocha root hooks: the e2e suite runs on the real test bed. A bed that is
// already up (npm run testbed -- up) is reused and left running; otherwise one
// is brought up for the suite and taken down at the end.
import { down, readBed, up } from '../../testbed/bed.ts';

let startedHere = false;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(300_000);
    if (!readBed()) {
      await up((line) => process.stderr.write(`[testbed] ${line}\n`));
      startedHere = true;
    }
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    if (startedHere) await down();
  },
};
