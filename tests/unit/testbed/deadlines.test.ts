import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { pastDeadline } from '../../testbed/deadlines.ts';

const started = Date.parse('2026-12-05T07:00:00Z'); // as the API writes it: whole seconds
const pod = (deadline: number): V1Pod => ({
  spec: { activeDeadlineSeconds: deadline, nodeName: 'kwok-node-0', containers: [] },
  status: { phase: 'Running', startTime: new Date(started) },
});

describe("the bed's activeDeadlineSeconds", () => {
  it('never fails a pod early: its start may be up to a second after the whole second written', () => {
    assert.equal(pastDeadline(pod(4), started + 4_900), false);
    assert.equal(pastDeadline(pod(4), started + 5_100), true);
  });

  it('leaves a pod without a deadline, or not scheduled, alone', () => {
    assert.equal(pastDeadline({ ...pod(4), spec: { containers: [] } }, started + 60_000), false);
    assert.equal(
      pastDeadline({ ...pod(4), spec: { activeDeadlineSeconds: 4, containers: [] } }, started + 60_000),
      false,
    );
  });
});
