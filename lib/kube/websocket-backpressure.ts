// client-node sends what a stream gives (exec stdin, a port-forward's local socket) as websocket
// messages without looking at what the websocket still holds unsent: a source faster than the API
// server would grow the plugin's memory without bound. This pauses the source while too much waits.
import type { Readable } from 'node:stream';

/** The part of a `ws` WebSocket this looks at. */
export interface SendingSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  readonly OPEN: number;
}

/** What a websocket may hold unsent before its source is paused, and what the source resumes at. */
export const UNSENT_HIGH_WATER = 4 * 1024 * 1024;
const UNSENT_LOW_WATER = 1024 * 1024;
const CHECK_MS = 5;

/** Pauses `source` (read by client-node with a 'data' listener) while `ws` holds too much unsent. */
export function limitUnsent(ws: SendingSocket, source: Readable): void {
  source.on('data', () => {
    if (ws.bufferedAmount <= UNSENT_HIGH_WATER || source.isPaused()) return;
    source.pause();
    // `ws` tells nothing when its buffer drains: look again shortly (a closed socket lets go at once).
    const check = setInterval(() => {
      if (ws.bufferedAmount > UNSENT_LOW_WATER && ws.readyState === ws.OPEN) return;
      clearInterval(check);
      source.resume();
    }, CHECK_MS);
    check.unref(); // the websocket keeps the process alive while it is open, not this
  });
}
