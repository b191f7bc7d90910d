import assert from 'node:assert/strict';
import { completionScript, SHELLS } from '../../../lib/completion/scripts.ts';

describe('completion scripts', () => {
  for (const shell of SHELLS) {
    it(`${shell}: asks the plugin itself for candidates`, () => {
      assert.match(completionScript(shell), /kubectl-datamover --get-yargs-completions/);
    });
  }
});
