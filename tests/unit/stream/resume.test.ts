import assert from 'node:assert/strict';
import type { KubeConnection } from '../../../lib/kube/connection.ts';
import { MAX_STREAM_ATTEMPTS, resumeDelayMs, withResumes, type ResumePolicy } from '../../../lib/stream/resume.ts';

/** A connection that fails the test if anything looks at it: these paths must not reach the cluster. */
const untouchable = new Proxy({} as KubeConnection, {
  get(_target, property) {
    throw new Error(`the kube connection was used (${String(property)})`);
  },
});

function context(signal = new AbortController().signal) {
  const reports: string[] = [];
  return {
    reports,
    ctx: { kube: untouchable, namespace: 'apps', pod: 'helper', signal, report: (d: string) => reports.push(d) },
  };
}

const policy = (resumable: boolean): ResumePolicy => ({
  resumable: () => resumable,
  during: 'during the transfer',
  fix: 'run it again',
  resumesWith: 'the batch',
});

describe('stream resumes', () => {
  it('waits 1, 2, 4 and then 8 seconds between the attempts', () => {
    const waits = Array.from({ length: MAX_STREAM_ATTEMPTS - 1 }, (_, i) => resumeDelayMs(i + 1));
    assert.deepEqual(waits, [1000, 2000, 4000, 8000]);
  });

  it('returns the value of a first attempt that succeeds, with no resumes', async () => {
    const { ctx } = context();
    assert.deepEqual(await withResumes(ctx, policy(true), async () => 'sent'), { value: 'sent', resumes: 0 });
  });

  it('rethrows an error that is not a cut stream at once, without retrying or asking the cluster', async () => {
    const { ctx, reports } = context();
    const failure = new Error('no space left on device');
    let attempts = 0;
    await assert.rejects(
      withResumes(ctx, policy(false), async () => {
        attempts++;
        throw failure;
      }),
      (err: unknown) => err === failure,
    );
    assert.deepEqual({ attempts, reports }, { attempts: 1, reports: [] });
  });

  it('rethrows a cut stream at once when the run was already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted'));
    const { ctx, reports } = context(controller.signal);
    const cut = new Error('websocket closed');
    let attempts = 0;
    await assert.rejects(
      withResumes(ctx, policy(true), async () => {
        attempts++;
        throw cut;
      }),
      (err: unknown) => err === cut,
    );
    assert.deepEqual({ attempts, reports }, { attempts: 1, reports: [] });
  });
});
