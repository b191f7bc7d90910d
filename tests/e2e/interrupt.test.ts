// Ctrl-C while a command's pod is in the cluster: the flow runner's cleanups
// delete the pod, and the run ends with one "interrupted by SIGINT" line. Each
// run is held with its pod in place, without fixed sleeps: verify's helper pod
// asks for more CPU than the bed's node has, so it is never scheduled; check's
// pod talks to a storage endpoint that accepts connections and never answers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Result } from 'execa';
import { REPO_ROOT } from '../testbed/paths.ts';
import { createBoundPvc, datamover, managedPodsLeft, useNamespace, userEnv, waitForManagedPod } from './support/bed.ts';
import { createStorageSecret, emptyBucket } from './support/storage.ts';

/** Starts the plugin, waits until its pod exists (and `ready`, if given), then sends it SIGINT. */
async function interruptWhenItsPodExists(
  namespace: string,
  args: string[],
  ready?: () => Promise<void>,
): Promise<{ pod: string; result: Result }> {
  const run = execa(join(REPO_ROOT, 'bin', 'kubectl-datamover'), [...args, '-n', namespace], {
    env: userEnv(),
    extendEnv: false,
    reject: false,
  });
  const pod = await waitForManagedPod(namespace, run);
  await ready?.();
  run.kill('SIGINT');
  return { pod, result: await run };
}

function assertInterrupted(result: Result): void {
  const output = `stdout: ${String(result.stdout)}\nstderr: ${String(result.stderr)}`;
  assert.equal(result.exitCode, 1, output);
  assert.match(String(result.stderr), /^error: interrupted by SIGINT; /m, output);
}

/** An S3 endpoint that accepts connections and never answers: a request to it waits for minutes. */
async function silentStorage(): Promise<{ port: number; connected: () => Promise<void>; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async connected() {
      for (let i = 0; sockets.size === 0; i++) {
        if (i > 600) throw new Error('nothing connected to the silent storage within 60s');
        await sleep(100);
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('Ctrl-C (SIGINT) while a pod of the plugin is in the cluster', () => {
  const ns = useNamespace('interrupt');
  beforeEach(() => emptyBucket());

  it('verify --against-pvc exits 1 with "interrupted by SIGINT" and deletes its helper pod', async () => {
    const source = await createBoundPvc(ns.name, 'data');
    writeFileSync(join(source, 'file.txt'), 'backed up\n');
    await createStorageSecret(ns.name);
    // A timestamped backup: what verify's default --from latest picks.
    const backup = await datamover(['backup', 'data', '--secret', 's3', '--timestamp-prefix', '-n', ns.name]);
    assert.equal(backup.exitCode, 0, String(backup.stderr));

    const { pod, result } = await interruptWhenItsPodExists(ns.name, [
      'verify',
      '--secret',
      's3',
      '--against-pvc',
      'data',
      // More than the node's 16 CPUs: the helper pod stays Pending until the interrupt.
      '--requests',
      'cpu=64',
    ]);
    assert.match(pod, /^datamover-verify-data-[0-9a-f]{6}$/);
    assertInterrupted(result);
    assert.deepEqual(await managedPodsLeft(ns.name), []);
  });

  it('check --in-cluster exits 1 with "interrupted by SIGINT" and deletes its pod', async () => {
    const storage = await silentStorage();
    try {
      await createStorageSecret(ns.name, 's3', { BUCKET_PORT: String(storage.port) });
      const { pod, result } = await interruptWhenItsPodExists(
        ns.name,
        [
          'check',
          '--secret',
          's3',
          '--in-cluster',
          // No local rclone: the local probes fail at once, and only the pod's rclone calls the storage.
          '--rclone',
          join(REPO_ROOT, 'no-such-rclone'),
        ],
        // Interrupted while the pod's rclone waits for the storage (an exec in flight).
        storage.connected,
      );
      assert.match(pod, /^datamover-check-[0-9a-f]{6}$/);
      assertInterrupted(result);
      assert.deepEqual(await managedPodsLeft(ns.name), []);
    } finally {
      storage.close();
    }
  });
});
