// Dead Buffers that outlived a young-generation GC are freed while a transfer runs, not once 64 MB of
// them have piled up. Run in a Node with --expose-gc (the flag NODE_FLAGS gives the plugin).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../testbed/paths.ts';

const MODULE = join(REPO_ROOT, 'lib', 'kube', 'buffer-collector.ts');

/** Holds 40 MB of Buffers past two young-generation GCs, drops them, waits 1 s: the MB still held. */
function heldAfterDropping(collect: boolean, flags: string[]): number {
  const script = `
    import { collectDeadBuffers } from ${JSON.stringify(MODULE)};
    let held = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 1));
    globalThis.gc?.({ type: 'minor' });
    globalThis.gc?.({ type: 'minor' });
    held = undefined;
    const stop = ${collect} ? collectDeadBuffers(8 * 1024 * 1024) : () => {};
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop();
    console.log(process.memoryUsage().arrayBuffers);
  `;
  const result = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return Number(result.stdout.trim()) / (1024 * 1024);
}

describe('collectDeadBuffers', function () {
  this.timeout(15000);
  it('frees dead Buffers that V8 would keep', () => {
    assert.ok(heldAfterDropping(false, ['--expose-gc']) >= 40, 'V8 freed them by itself: the test proves nothing');
    const held = heldAfterDropping(true, ['--expose-gc']);
    assert.ok(held < 8, `${held.toFixed(1)} MB of Buffers still held`);
  });

  it('does nothing without --expose-gc', () => {
    assert.ok(heldAfterDropping(true, []) >= 40);
  });
});
