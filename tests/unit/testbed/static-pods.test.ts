import assert from 'node:assert/strict';
import { restartDelays } from '../../testbed/static-pods.ts';

describe("the bed's kubelet of the control plane", () => {
  it('starts an exited process again at once the first time, then backs off 10 s doubling to 5 min', () => {
    let backoffMs = 0;
    const delays: number[] = [];
    for (let exits = 0; exits < 8; exits++) {
      const next = restartDelays(backoffMs, 1_000);
      delays.push(next.delayMs);
      backoffMs = next.backoffMs;
    }
    assert.deepEqual(delays, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it('forgets the back-off once the process ran for 10 min', () => {
    assert.deepEqual(restartDelays(300_000, 600_000), { delayMs: 0, backoffMs: 10_000 });
    assert.deepEqual(restartDelays(300_000, 599_000), { delayMs: 300_000, backoffMs: 300_000 });
  });
});
