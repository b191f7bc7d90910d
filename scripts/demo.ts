// npm run demo: the main job, end to end, on the bundled test bed. Brings the
// bed up (unless one is running), shows the plugin at work, and takes the bed
// down again if it started it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { down, readBed, up } from '../tests/testbed/bed.ts';
import { REPO_ROOT } from '../tests/testbed/paths.ts';

const say = (line: string) => process.stdout.write(`\n\x1b[1m# ${line}\x1b[0m\n`);
const startedHere = !readBed();
const bed = readBed() ?? (await up((line) => process.stderr.write(`[testbed] ${line}\n`)));
const env = { ...process.env, KUBECONFIG: bed.kubeconfig, PATH: `${join(REPO_ROOT, 'bin')}:${join(bed.kubectl, '..')}:${process.env.PATH}` };
const run = (command: string, args: string[]) => {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  process.stdout.write(execFileSync(command, args, { env, encoding: 'utf8' }));
};

try {
  say('The test bed: a real API server with one simulated node');
  run('kubectl', ['get', 'nodes']);
  say('kubectl finds the plugin');
  run('kubectl', ['datamover', 'version']);
} finally {
  if (startedHere && !process.argv.includes('--keep')) await down((line) => process.stderr.write(`[testbed] ${line}\n`));
}
