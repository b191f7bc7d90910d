// Operator mode when the operator is not (fully) installed: these tests delete the DataMover
// CRDs, which deletes every DataMover of the cluster, so they run on the second bed, one at a
// time (see .mocharc.cjs), never beside the tests of what the operator does.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bed, createBoundPvc, datamover, kubectl, useNamespace, volumeFolder } from '../e2e/support/bed.ts';
import {
  bucketPath,
  objectsIn as bucketObjects,
  createStorageSecret,
  emptyBucket,
  expectedObjects,
} from '../e2e/support/storage.ts';

const dm = (namespace: string, args: string[]) => datamover([...args, '-n', namespace]);
const DATAMOVER_CRD = 'crd/datamovers.datamover.a-cup-of.coffee';
const SCHEDULE_CRD = 'crd/datamoverschedules.datamover.a-cup-of.coffee';

/** Deletes the CRDs before each test, and puts the bed's own back as they were (the real operator's, or the copy). */
function withoutCrds(...crds: string[]): void {
  let saved: string[] = [];
  beforeEach(async () => {
    saved = await Promise.all(
      crds.map(async (crd) => {
        const live = JSON.parse(String((await kubectl(['get', crd, '-o', 'json'])).stdout));
        const { name, labels, annotations } = live.metadata;
        return JSON.stringify({
          apiVersion: live.apiVersion,
          kind: live.kind,
          metadata: { name, labels, annotations },
          spec: live.spec,
        });
      }),
    );
    await kubectl(['delete', ...crds, '--wait=true']);
  });
  afterEach(async () => {
    for (const crd of saved) await kubectl(['create', '-f', '-'], { input: crd });
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  });
}

describe('operator mode without the operator', () => {
  const ns = useNamespace('op');
  beforeEach(async () => {
    await createBoundPvc(ns.name, 'data');
    // A bucket of this test's own (none yet): create's look at the bucket finds it empty.
    await createStorageSecret(ns.name, 's3', { BUCKET_NAME: ns.name });
  });

  describe('without the operator', () => {
    withoutCrds(DATAMOVER_CRD, SCHEDULE_CRD);

    it('--mode operator says the operator is not installed and points to local mode', async () => {
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--mode', 'operator']);
      assert.equal(result.exitCode, 1);
      assert.match(
        String(result.stderr),
        /^error: the DataMover operator is not installed in this cluster .*; .*local mode/m,
      );
    });

    it('create falls back to local mode, says so, and backs up', async () => {
      emptyBucket();
      const source = await volumeFolder(ns.name, 'data');
      mkdirSync(join(source, 'sub'));
      writeFileSync(join(source, 'sub', 'file.txt'), 'backed up by the fallback\n');
      await createStorageSecret(ns.name);
      const result = await dm(ns.name, ['create', 'x', '--pvc', 'data', '--secret', 's3', '--rclone', bed().rcloneNew]);
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.match(String(result.stderr), /operator is not installed .*using local mode/);
      assert.match(String(result.stdout), /Backed up PVC/);
      assert.deepEqual(bucketObjects(bucketPath()), expectedObjects(source));
      assert.deepEqual(Object.keys(bucketObjects(bucketPath())), ['sub/file.txt']);
    });
  });

  describe('with the DataMover CRD only (as the Helm chart of the operator installs it)', () => {
    withoutCrds(SCHEDULE_CRD);

    it('names the missing DataMoverSchedule CRD for schedules, and still makes DataMovers', async () => {
      const schedule = await dm(ns.name, ['create', 'n', '--pvc', 'data', '--secret', 's3', '--schedule', '0 2 * * *']);
      assert.equal(schedule.exitCode, 1);
      assert.match(
        String(schedule.stderr),
        /^error: the DataMoverSchedule \(datamoverschedules\.datamover\.a-cup-of\.coffee\) CRD is not served .*; /m,
      );
      const suspend = await dm(ns.name, ['suspend', 'n']);
      assert.equal(suspend.exitCode, 1);
      assert.match(String(suspend.stderr), /DataMoverSchedule .* CRD is not served/);
      const once = await dm(ns.name, ['create', 'once', '--pvc', 'data', '--secret', 's3']);
      assert.equal(once.exitCode, 0, String(once.stderr));
      const status = await dm(ns.name, ['status']);
      assert.equal(status.exitCode, 0, String(status.stderr));
      assert.match(String(status.stdout), /^once\s+data\s+Pending/m);
    });
  });
});
