// The release path: the packaged binary for this machine, built twice to the same
// bytes, its krew manifest validated by krew's own validate-krew-manifest, installed
// by the real krew into a temporary KREW_ROOT, and run from krew's bin folder with
// no Node on PATH.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bed } from './support/bed.ts';
import { REPO_ROOT } from '../testbed/paths.ts';
import { hostPlatform } from '../../krew-manifest/platforms.ts';
import { NODE_FLAGS } from '../../scripts/bundle.ts';

const KREW_BIN = process.env.DATAMOVER_KREW_BIN!;

describe('krew release', () => {
  let dir: string;
  let release: string;
  const gitStatus = async () => String((await execa('git', ['status', '--porcelain'], { cwd: REPO_ROOT })).stdout);
  const packageInto = (out: string) =>
    execa(process.execPath, [join(REPO_ROOT, 'scripts', 'package.ts'), '--platforms', 'host', '--out', out], {
      stdio: 'inherit',
    });
  before(async function () {
    this.timeout(600_000);
    dir = mkdtempSync(join(tmpdir(), 'datamover-krew-'));
    release = join(dir, 'release');
    await packageInto(release);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds the same bytes again, in another folder, and leaves the tracked files alone', async function () {
    this.timeout(600_000);
    const before = await gitStatus();
    const again = join(dir, 'again');
    await packageInto(again);
    const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    for (const file of [hostPlatform().archive, 'datamover.yaml'])
      assert.equal(sha256(join(again, file)), sha256(join(release, file)), `${file} differs between two builds`);
    assert.equal(await gitStatus(), before);
  });

  it("passes krew's validate-krew-manifest", async () => {
    const result = await execa(
      join(KREW_BIN, 'validate-krew-manifest'),
      ['-manifest', join(release, 'datamover.yaml'), '-skip-install'],
      { reject: false, all: true },
    );
    assert.equal(result.exitCode, 0, String(result.all));
  });

  it('installs with kubectl krew from the manifest and archive, and runs with no Node on PATH', async () => {
    // A PATH with kubectl and kubectl-krew only: no node anywhere.
    const tools = join(dir, 'tools');
    mkdirSync(tools);
    copyFileSync(bed().kubectl, join(tools, 'kubectl'));
    symlinkSync(join(KREW_BIN, 'kubectl-krew'), join(tools, 'kubectl-krew'));
    const krewRoot = join(dir, 'krew-root');
    const env = { KREW_ROOT: krewRoot, PATH: `${join(krewRoot, 'bin')}:${tools}`, HOME: dir };
    const noNode = await execa('/bin/sh', ['-c', 'command -v node'], { env, extendEnv: false, reject: false });
    assert.notEqual(noNode.exitCode, 0, 'node is on the test PATH');

    const archive = join(release, hostPlatform().archive);
    const install = await execa(
      'kubectl',
      ['krew', 'install', `--manifest=${join(release, 'datamover.yaml')}`, `--archive=${archive}`],
      { env, extendEnv: false, reject: false, all: true },
    );
    assert.equal(install.exitCode, 0, String(install.all));

    const version = await execa('kubectl', ['datamover', 'version', '--client', '-o', 'json'], {
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
    assert.equal(version.exitCode, 0, String(version.all));
    const info = JSON.parse(String(version.stdout));
    assert.match(info.clientVersion.version, /^v\d+\.\d+\.\d+$/);
    assert.match(info.clientVersion.gitCommit, /^[0-9a-f]{7,}$|^unknown$/);

    const help = await execa('kubectl', ['datamover', '--help'], { env, extendEnv: false, reject: false });
    assert.equal(help.exitCode, 0);
    assert.match(String(help.stdout), /kubectl datamover backup <pvc>/);
  });

  it('runs the binary with the Node flags the npm bin gives the plugin (NODE_FLAGS)', async () => {
    const binary = join(dir, 'flags', 'kubectl-datamover');
    mkdirSync(join(dir, 'flags'));
    await execa('tar', ['-xzf', join(release, hostPlatform().archive), '-C', join(dir, 'flags')]);
    const hook = join(dir, 'flags', 'hook.cjs');
    writeFileSync(hook, 'process.on("exit", () => console.error("RAN", JSON.stringify(process.execArgv)));');
    const run = await execa(binary, ['version', '--client'], { env: { NODE_OPTIONS: `--require=${hook}` } });
    const execArgv = JSON.parse(/^RAN (.*)$/m.exec(String(run.stderr))?.[1] ?? 'null');
    for (const flag of NODE_FLAGS) assert.ok(execArgv?.includes(flag), `${flag} missing: ${run.stderr}`);
  });
});
