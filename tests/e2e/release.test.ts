// The npm channel: `npm pack` (its prepack bundles dist/) gives a package that ships the bundled
// code, bin/ and LICENSE only, installs into an empty prefix with the project's Node and npm, and runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';

describe('npm package', () => {
  let dir: string;
  let tarball: string;
  let trackedBefore: string;
  const version: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
  const gitStatus = async () => String((await execa('git', ['status', '--porcelain'], { cwd: REPO_ROOT })).stdout);

  before(async function () {
    this.timeout(300_000);
    dir = mkdtempSync(join(tmpdir(), 'datamover-npm-'));
    trackedBefore = await gitStatus();
    const pack = await execa('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: REPO_ROOT });
    tarball = join(dir, String(pack.stdout).trim().split('\n').pop()!);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds bin/, the bundle in dist/ and LICENSE: no source, no platform archive', async () => {
    const files = String((await execa('tar', ['-tzf', tarball])).stdout).split('\n');
    for (const needed of ['package/bin/kubectl-datamover', 'package/dist/kubectl-datamover.cjs', 'package/LICENSE'])
      assert.ok(files.includes(needed), `${needed} missing from ${tarball}`);
    const unwanted = files.filter((f) => /\.ts$|\.tar\.gz$|\.zip$|dist\/release|^package\/(lib|cmd|tests)\//.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('leaves the tracked files as they were', async () => {
    assert.equal(await gitStatus(), trackedBefore);
  });

  it('installs into an empty prefix and runs --help and version --client from there', async function () {
    this.timeout(300_000);
    const prefix = join(dir, 'prefix');
    const install = await execa(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball],
      {
        reject: false,
        all: true,
      },
    );
    assert.equal(install.exitCode, 0, String(install.all));
    const bin = join(prefix, 'bin', 'kubectl-datamover');
    const help = await execa(bin, ['--help'], { reject: false });
    assert.equal(help.exitCode, 0, String(help.stderr));
    assert.match(String(help.stdout), /kubectl datamover backup <pvc>/);
    const info = await execa(bin, ['version', '--client', '-o', 'json'], { reject: false });
    assert.equal(info.exitCode, 0, String(info.stderr));
    assert.equal(JSON.parse(String(info.stdout)).clientVersion.version, `v${version}`);
  });
});
