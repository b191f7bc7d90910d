// The plugin as one CommonJS file (esbuild): what the npm package and the krew binaries run. Loading
// one minified file instead of ~1,200 modules (client-node's models alone are ~1,000) costs about
// 50 MB less memory and half the startup time.
// Usage: node scripts/bundle.ts OUTFILE (the npm package's dist/kubectl-datamover.cjs, exporting main).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Node flags the plugin runs with (the krew binaries' SEA execArgv; bin/kubectl-datamover's NODE_FLAGS,
 * which must say the same): 8 MB semi-spaces instead of V8's up to 64 MB on a machine of 16 GiB or more, and
 * `gc()`, with which a transfer frees dead Buffers early (lib/kube/buffer-collector.ts).
 */
export const NODE_FLAGS = ['--max-semi-space-size=8', '--expose-gc'];

/** The commit built from, shown by `kubectl datamover version`. */
export function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Bundles `entry` (cmd/main.ts, whose main the caller runs; cmd/entry.ts, which runs it) into `outfile`,
 * with no path of the build machine in it.
 */
export async function bundlePlugin(entry: 'main' | 'entry', outfile: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'cmd', `${entry}.ts`)],
    bundle: true,
    platform: 'node',
    target: 'node22.18',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    outfile,
    define: { __DATAMOVER_COMMIT__: JSON.stringify(commit()), 'import.meta.url': '__importMetaUrl' },
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
    // A native addon cannot be in the bundle; ws then masks frames in JavaScript, as without it.
    external: ['bufferutil'],
  });
  // V8 keeps a script's source in memory, as one-byte text only if every character is ASCII.
  const nonAscii = /.{0,30}[^\p{ASCII}].{0,30}/u.exec(readFileSync(outfile, 'utf8'));
  if (nonAscii) throw new Error(`the bundle must be ASCII (escape it in the source): ${nonAscii[0]}`);
}

if (import.meta.main) await bundlePlugin('main', resolve(process.argv[2]!));
