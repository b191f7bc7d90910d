// The entry of the self-contained binary (esbuild bundle in a Node single
// executable application): no top-level await, CommonJS-compatible.
import { main } from './main.ts';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
