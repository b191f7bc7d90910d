// V8 frees a Buffer whose JavaScript object outlived a young-generation GC (a chunk held for a while
// in a stream's queue or a pending write) only in a full GC, and starts one for Buffers alone once
// some 64 MB of them have piled up. A transfer of many small files makes such Buffers all the time:
// 60-100 MB of dead ones were held at once (100,000 files: peak RSS 268 MB; with this, 244).
// While a transfer (or a port-forward) runs, a full GC (concurrent) is asked for whenever more than BUFFER_LIMIT
// is held.

const BUFFER_LIMIT = 24 * 1024 * 1024;
const CHECK_EVERY_MS = 200;

/**
 * Keeps the memory held by Buffers under BUFFER_LIMIT until the returned function is called. It needs
 * `--expose-gc` (NODE_FLAGS gives it); without it, it does nothing.
 */
export function collectDeadBuffers(limit = BUFFER_LIMIT): () => void {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return () => undefined;
  let collecting = false;
  const timer = setInterval(() => {
    if (collecting || process.memoryUsage().arrayBuffers <= limit) return;
    collecting = true;
    void gc({ type: 'major', execution: 'async' }).finally(() => (collecting = false));
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
