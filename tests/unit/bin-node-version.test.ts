// bin/kubectl-datamover under a Node too old to strip types: one line and exit 1, not a stack
// trace. Runs it with the system's Node, the one a plain shell finds before scripts/env.sh puts
// Node 24 first on PATH; skipped when that Node is new enough itself.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, systemPath } from '../testbed/paths.ts';

/** The first node on the system PATH (as `command -v node` finds it in a plain shell), else /usr/bin/node. */
function systemNode(): string | undefined {
  for (const dir of [...systemPath().split(':'), '/usr/bin']) {
    try {
      accessSync(join(dir, 'node'), constants.X_OK);
      return join(dir, 'node');
    } catch {
      // not here
    }
  }
  return undefined;
}

describe('bin/kubectl-datamover on an old Node', () => {
  it('prints one line naming the Node it needs and exits 1', function () {
    const node = systemNode();
    const version = node && execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = (version ?? '').split('.').map(Number);
    if (!node || !version || major > 22 || (major === 22 && minor >= 18)) {
      process.stderr.write(
        `    skipped: the system's Node (${node ?? 'none'} ${version ?? ''}) is not older than 22.18\n`,
      );
      this.skip();
    }
    // As a plain shell runs it: the bin itself, its #!/usr/bin/env node finding that Node first.
    const run = spawnSync(join(REPO_ROOT, 'bin', 'kubectl-datamover'), ['version'], {
      encoding: 'utf8',
      env: { PATH: `${dirname(node)}:${systemPath()}`, HOME: process.env.HOME ?? '/root' },
    });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `error: kubectl-datamover needs Node.js >= 22.18 (found ${version}); ` +
        'install Node 24, or use the krew build, which needs no Node\n',
    );
  });
});
