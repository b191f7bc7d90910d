// The entry of the self-contained binary (esbuild bundle in a Node single
// executable application): no top-level await, CommonJS-compatible.
import { main } from './main.ts';

main(process.argv.slice(2)).then((code) => {
  // A failure ends the process at once: a request cut by --request-timeout may still hold a socket.
  if (code !== 0) process.exit(code);
  process.exitCode = code;
});
