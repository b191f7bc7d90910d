// README's "Start it alone, from a plain shell", as a newcomer runs it: a fresh login shell with
// nothing but HOME and the system's PATH (whose node may be 20, and whose rclone Debian's 1.60),
// with AWS_CA_BUNDLE set as on machines that trust a corporate CA. The bed is the suite's (the root
// hooks' `npm run testbed -- up`), so "up" and "down" are left to them; every other step runs here,
// in README's order. Keep the two in sync.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { bed } from './support/bed.ts';
import { REPO_ROOT, systemPath } from '../testbed/paths.ts';

/** Runs README's `source .testbed/env` and then `step`, in a fresh login shell from the checkout. */
async function plainShell(step: string) {
  const envFile = join(bed().dir, 'env');
  return execa('bash', ['-lc', `cd '${REPO_ROOT}' && source '${envFile}' && ${step}`], {
    env: {
      HOME: process.env.HOME ?? '/root',
      PATH: systemPath(),
      // Any real CA file: Debian's rclone fails with any AWS_CA_BUNDLE unless the env file handles it.
      AWS_CA_BUNDLE: bed().s3.caFile,
    },
    extendEnv: false,
    reject: false,
  });
}

describe("README's plain-shell steps", () => {
  it('source .testbed/env', async () => {
    const result = await plainShell('echo "$KUBECONFIG $S3_BUCKET"');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `${bed().kubeconfig} ${bed().s3.bucket}`);
  });

  it('kubectl get nodes: kwok-node-0 Ready', async () => {
    const result = await plainShell('kubectl get nodes');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^kwok-node-0\s+Ready\s/m);
  });

  it("rclone lsd testbed: lists the bed's bucket, with the rclone on PATH and AWS_CA_BUNDLE set", async () => {
    const result = await plainShell('rclone lsd testbed:');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`\\s${bed().s3.bucket}$`, 'm'));
  });

  it('kubectl datamover version: the plugin, on a Node that runs its TypeScript sources', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const result = await plainShell('kubectl datamover version');
    assert.equal(result.exitCode, 0, result.stderr);
    const line = new RegExp(`^Plugin Version: v${version.replaceAll('.', '\\.')} \\(.*node v(\\d+)\\.(\\d+)\\.`, 'm');
    const [, major, minor] = line.exec(result.stdout) ?? assert.fail(`no plugin version in:\n${result.stdout}`);
    assert.ok(Number(major) > 22 || (Number(major) === 22 && Number(minor) >= 18), result.stdout);
    assert.match(result.stdout, /^Server Version: v\d/m);
  });

  it('npm run testbed -- env and status: the npm scripts run from the same shell', async () => {
    const dir = `DATAMOVER_TESTBED_DIR='${bed().dir}'`;
    const env = await plainShell(`${dir} npm run --silent testbed -- env`);
    assert.equal(env.exitCode, 0, env.stderr);
    assert.equal(`${env.stdout}\n`, readFileSync(join(bed().dir, 'env'), 'utf8'));
    const status = await plainShell(`${dir} npm run --silent testbed -- status`);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stderr, /\[testbed\] up: kubeconfig /);
  });
});
