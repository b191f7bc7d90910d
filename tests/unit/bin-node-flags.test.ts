// bin/kubectl-datamover runs the plugin with NODE_FLAGS (scripts/bundle.ts, also the krew binaries'),
// in the same process: started again by execve, not as a child.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../scripts/bundle.ts';
import { REPO_ROOT } from '../testbed/paths.ts';

describe('bin/kubectl-datamover node flags', () => {
  let dir: string;
  let hook: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bin-flags-'));
    hook = join(dir, 'hook.mjs');
    // Loaded into every Node the bin starts: the one that ends says what it ran with.
    writeFileSync(
      hook,
      'process.on("exit", () => console.error("RAN", process.pid, JSON.stringify(process.execArgv)));',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (nodeOptions: string) => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'kubectl-datamover'), 'version', '--client'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--import=${hook} ${nodeOptions}` },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Plugin Version: v/);
    const [, pid, execArgv] = /^RAN (\d+) (.*)$/m.exec(result.stderr) ?? [];
    return { samePid: Number(pid) === result.pid, execArgv: JSON.parse(execArgv ?? 'null') as string[] };
  };

  it('starts the plugin with the flags, in the process that was started', () => {
    const { samePid, execArgv } = run('');
    assert.ok(samePid, 'the plugin ran in another process');
    for (const flag of NODE_FLAGS) assert.ok(execArgv.includes(flag), `${flag} missing from ${execArgv}`);
  });

  it("leaves a user's own --max-semi-space-size alone", () => {
    const { execArgv } = run('--max-semi-space-size=16');
    assert.deepEqual(execArgv, []);
  });
});
