import assert from 'node:assert/strict';
import { UserError } from '../../../lib/errors.ts';
import { interrupted, runFlow } from '../../../lib/flow/runner.ts';
import { chooseRenderer, plainRenderer } from '../../../lib/progress/renderer.ts';

const quiet = { progress: chooseRenderer({ tty: false, quiet: true }) };

/** A promise that never settles: a step that ignores its signal. */
const forever = () => new Promise<never>(() => {});

/** A step that runs until its signal is aborted, then ends with its reason. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

describe('flow runner', () => {
  it('runs the cleanups in reverse order of registration after a successful run', async () => {
    const ran: string[] = [];
    await runFlow(quiet, async (flow) => {
      await flow.step('create', async () => {
        for (const name of ['clone', 'pod', 'staging']) flow.defer(name, async () => void ran.push(name));
      });
    });
    assert.deepEqual(ran, ['staging', 'pod', 'clone']);
  });

  it("passes each step's value to the next and resolves with the body's", async () => {
    const result = await runFlow(quiet, async (flow) => {
      const files: string[] = await flow.step('list', async () => ['a.txt', 'b.txt']);
      const bytes: number = await flow.step('send', async () => files.length * 512);
      return { files, bytes };
    });
    assert.deepEqual(result, { files: ['a.txt', 'b.txt'], bytes: 1024 });
  });

  it("rejects with the failing step's own error", async () => {
    const failure = new Error('PVC is not Bound');
    await assert.rejects(
      runFlow(quiet, async (flow) => {
        await flow.step('wait', async () => {
          throw failure;
        });
      }),
      (err: unknown) => err === failure,
    );
  });

  it('still runs the cleanups when a step fails', async () => {
    const ran: string[] = [];
    await runFlow(quiet, async (flow) => {
      flow.defer('delete pod', async () => void ran.push('delete pod'));
      await flow.step('wait', async () => {
        throw new Error('timed out');
      });
    }).catch(() => undefined);
    assert.deepEqual(ran, ['delete pod']);
  });

  it('does not run the steps after a failing one', async () => {
    let reached = false;
    await runFlow(quiet, async (flow) => {
      await flow.step('first', async () => {
        throw new Error('boom');
      });
      await flow.step('second', async () => {
        reached = true;
      });
    }).catch(() => undefined);
    assert.equal(reached, false);
  });

  it('ends a long step with the reason given to flow.abort', async () => {
    const reason = interrupted('SIGTERM');
    await assert.rejects(
      runFlow(quiet, async (flow) => {
        await flow.step('transfer', () => {
          setImmediate(() => flow.abort(reason));
          return untilAborted(flow.signal);
        });
      }),
      (err: unknown) => err === reason,
    );
  });

  it('aborts the signal the steps were given', async () => {
    let signal: AbortSignal | undefined;
    await runFlow(quiet, async (flow) => {
      signal = flow.signal;
      await flow.step('transfer', () => {
        setImmediate(() => flow.abort(new Error('stop')));
        return untilAborted(flow.signal);
      });
    }).catch(() => undefined);
    assert.equal(signal?.aborted, true);
  });

  it('still runs the cleanups after flow.abort', async () => {
    const ran: string[] = [];
    await runFlow(quiet, async (flow) => {
      flow.defer('delete clone', async () => void ran.push('delete clone'));
      await flow.step('transfer', () => {
        setImmediate(() => flow.abort(new Error('stop')));
        return untilAborted(flow.signal);
      });
    }).catch(() => undefined);
    assert.deepEqual(ran, ['delete clone']);
  });

  it('runs every cleanup even when one of them fails', async () => {
    const ran: string[] = [];
    await runFlow(quiet, async (flow) => {
      flow.defer('delete clone', async () => void ran.push('delete clone'));
      flow.defer('delete pod', async () => {
        throw new Error('forbidden');
      });
      flow.defer('remove staging', async () => void ran.push('remove staging'));
    }).catch(() => undefined);
    assert.deepEqual(ran, ['remove staging', 'delete clone']);
  });

  it('rejects with "cleanup failed" naming the cleanup and its error', async () => {
    await assert.rejects(
      runFlow(quiet, async (flow) => {
        flow.defer('delete clone', async () => {});
        flow.defer('delete pod', async () => {
          throw new Error('forbidden');
        });
      }),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === 'cleanup failed (delete pod: forbidden)' &&
        /kubectl get/.test(err.fix),
    );
  });

  it("rejects with the step's error and the cleanup's, when both fail", async () => {
    const failure = new UserError('disk full', 'free some space');
    await assert.rejects(
      runFlow(quiet, async (flow) => {
        flow.defer('delete pod', async () => {
          throw new Error('forbidden');
        });
        await flow.step('transfer', async () => {
          throw failure;
        });
      }),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === 'disk full; and cleanup failed (delete pod: forbidden)' &&
        /^delete the leftovers by hand: .*; then free some space$/.test(err.fix) &&
        err.cause === failure,
    );
  });

  it('does not say an interrupted run removed what it made when a cleanup failed', async () => {
    await assert.rejects(
      runFlow(quiet, async (flow) => {
        flow.defer('delete pod', async () => {
          throw new Error('forbidden');
        });
        await flow.step('transfer', () => {
          setImmediate(() => flow.abort(interrupted('SIGINT')));
          return untilAborted(flow.signal);
        });
      }),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === 'interrupted by SIGINT; and cleanup failed (delete pod: forbidden)' &&
        !/was removed/.test(err.fix) &&
        /; then run the command again$/.test(err.fix),
    );
  });

  it('starts the cleanups once what an aborted step started has ended', async () => {
    const ran: string[] = [];
    await runFlow(quiet, async (flow) => {
      flow.defer('remove folder', async () => void ran.push('remove folder'));
      await flow.step('copy', async () => {
        setImmediate(() => flow.abort(interrupted('SIGINT')));
        await untilAborted(flow.signal).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50)); // a write still on its way
        ran.push('last write');
      });
    }).catch(() => undefined);
    assert.deepEqual(ran, ['last write', 'remove folder']);
  });

  it('starts the cleanups after unwindMs when an aborted step never ends', async () => {
    const ran: string[] = [];
    const started = Date.now();
    await runFlow({ ...quiet, unwindMs: 100 }, async (flow) => {
      flow.defer('delete pod', async () => void ran.push('delete pod'));
      await flow.step('stuck', () => {
        setImmediate(() => flow.abort(interrupted('SIGTERM')));
        return forever();
      });
    }).catch(() => undefined);
    assert.deepEqual(ran, ['delete pod']);
    assert.ok(Date.now() - started >= 100, 'the cleanups did not wait for the step');
  });

  it('leaves no SIGINT or SIGTERM handler behind', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    await runFlow(quiet, async (flow) => flow.step('noop', async () => 1));
    assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
  });

  it('shows a finished step as "<title>: done in <time> (<summary>)"', async () => {
    const lines: string[] = [];
    await runFlow({ progress: plainRenderer((line) => lines.push(line)) }, async (flow) => {
      await flow.step(
        'Restore the files',
        async () => 3,
        (files) => `${files} files`,
      );
    });
    assert.match(lines[0] ?? '', /^Restore the files: done in \d+ms \(3 files\)$/);
  });

  it('shows a failed step as "<title>: failed after <time>"', async () => {
    const lines: string[] = [];
    await runFlow({ progress: plainRenderer((line) => lines.push(line)) }, async (flow) => {
      await flow.step('Start the helper pod', async () => {
        throw new Error('image pull failed');
      });
    }).catch(() => undefined);
    assert.match(lines[0] ?? '', /^Start the helper pod: failed after \d+ms$/);
  });

  it('shows the cleanups as a last "Clean up" step', async () => {
    const lines: string[] = [];
    await runFlow({ progress: plainRenderer((line) => lines.push(line)) }, async (flow) => {
      flow.defer('delete pod', async () => {});
      await flow.step('Copy', async () => undefined);
    });
    assert.match(lines.at(-1) ?? '', /^Clean up: done in \d+ms \(delete pod\)$/);
  });

  it('shows no "Clean up" step when nothing was registered', async () => {
    const lines: string[] = [];
    await runFlow({ progress: plainRenderer((line) => lines.push(line)) }, async (flow) => {
      await flow.step('Copy', async () => undefined);
    });
    assert.equal(lines.filter((line) => line.startsWith('Clean up')).length, 0);
  });

  it('words an interruption by its signal', () => {
    assert.match(interrupted('SIGINT').message, /^interrupted by SIGINT$/);
  });
});
