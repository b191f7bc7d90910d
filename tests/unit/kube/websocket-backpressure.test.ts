// A source that client-node reads into a websocket waits while the websocket holds too much unsent.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { limitUnsent, UNSENT_HIGH_WATER } from '../../../lib/kube/websocket-backpressure.ts';

describe('limitUnsent', () => {
  it('pauses the source while the websocket holds more than its high water, and resumes it once drained', async () => {
    const ws = { bufferedAmount: 0, readyState: 1, OPEN: 1 };
    const source = new PassThrough();
    const sent: string[] = [];
    // client-node's reader: each chunk becomes a message, queued on the socket.
    source.on('data', (chunk: Buffer) => {
      sent.push(chunk.toString());
      ws.bufferedAmount += UNSENT_HIGH_WATER + 1;
    });
    limitUnsent(ws, source);
    source.write('a');
    source.write('b');
    await sleep(30);
    assert.deepEqual(sent, ['a'], 'read on while the websocket held too much');
    assert.ok(source.isPaused());
    ws.bufferedAmount = 0; // sent
    await sleep(30);
    assert.deepEqual(sent, ['a', 'b']);
    ws.readyState = 3; // closed: lets go of the source paused after "b"
    await sleep(20);
    assert.ok(!source.isPaused());
  });

  it('lets go of a source whose websocket closed', async () => {
    const ws = { bufferedAmount: 2 * UNSENT_HIGH_WATER, readyState: 1, OPEN: 1 };
    const source = new PassThrough();
    source.on('data', () => undefined);
    limitUnsent(ws, source);
    source.write('a');
    await sleep(20);
    assert.ok(source.isPaused());
    ws.readyState = 3;
    await sleep(20);
    assert.ok(!source.isPaused());
  });
});
