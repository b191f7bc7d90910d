// Startup of the packaged binary: `kubectl-datamover --help`, median of 15
// runs, against the same Node binary doing nothing (`node -e 0`), in one run.
// Builds the host binary first (npm run package -- --platforms host).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostPlatform } from '../krew-manifest/platforms.ts';

const ROOT = resolve(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'datamover-startup-'));
execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.ts'), '--platforms', 'host', '--out', out], {
  stdio: 'inherit',
});
const archive = join(out, hostPlatform().archive);
execFileSync('tar', ['-xzf', archive, '-C', out]);
const binary = join(out, hostPlatform().bin);

function median(command: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const start = process.hrtime.bigint();
    execFileSync(command, args, { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[7]!;
}

const baseline = median(process.execPath, ['-e', '0']);
const help = median(binary, ['--help']);
const version = median(binary, ['version', '--client']);
process.stdout.write(`node -e 0 (baseline):                 ${baseline.toFixed(0)} ms\n`);
process.stdout.write(
  `kubectl-datamover --help:             ${help.toFixed(0)} ms ` +
    `(${(help / baseline).toFixed(2)}x baseline; target < 300 ms)\n`,
);
process.stdout.write(
  `kubectl-datamover version --client:   ${version.toFixed(0)} ms (${(version / baseline).toFixed(2)}x baseline)\n`,
);
rmSync(out, { recursive: true, force: true });
