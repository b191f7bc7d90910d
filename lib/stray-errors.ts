// Errors that escape every promise (a library's stray 'error' event, an
// unhandled rejection). Node's default report dumps whole objects, and a
// WebSocket holds the client's private key: they must end as one line, and a
// running flow must still clean up. While a flow runs it receives them.
let route: ((err: unknown) => void) | undefined;

export function installStrayErrorHandler(fallback: (err: unknown) => void): void {
  const handle = (err: unknown) => (route ?? fallback)(err);
  process.on('uncaughtException', handle);
  process.on('unhandledRejection', handle);
}

/** Sends stray errors to `handler` until the returned function is called. */
export function routeStrayErrors(handler: (err: unknown) => void): () => void {
  const previous = route;
  route = handler;
  return () => {
    route = previous;
  };
}
