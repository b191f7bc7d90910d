// backup --include/--exclude/--filter/--filter-from: rclone's filter syntax and semantics. Only the
// files the filters keep are sent and listed in the manifest, excluded objects already at the
// destination are left alone (as rclone sync does), the manifest records the filters, --dry-run
// counts what the real run then does, and a bad filter is a usage error that creates nothing.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBoundPvc, datamover, managedLeftovers, useNamespace } from './support/bed.ts';
import { bucketPath, createStorageSecret, emptyBucket, expectedObjects, objectsIn } from './support/storage.ts';

const MANIFEST = '.datamover-manifest.json';

/** A small tree with text files, logs and a cache folder. */
function writeTree(root: string): void {
  const files: Record<string, string> = {
    'a.txt': 'a\n',
    'notes/b.txt': 'b\n',
    'notes/c.md': 'c\n',
    'logs/app.txt': 'log as text\n',
    'logs/app.log': 'log\n',
    'cache/blob.bin': 'blob\n',
    'top.bin': 'top\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** The expected objects of `source` that `keep` selects by path. */
function subset(source: string, keep: (path: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(expectedObjects(source)).filter(([path]) => keep(path)));
}

describe('backup with filters', () => {
  const ns = useNamespace('filters');
  let source: string;
  const dm = (args: string[]) => datamover([...args, '-n', ns.name]);
  beforeEach(async () => {
    emptyBucket();
    source = await createBoundPvc(ns.name, 'data');
    writeTree(source);
    await createStorageSecret(ns.name);
  });

  it('backs up exactly what --include and --exclude keep, and records the filters in the manifest', async () => {
    const filters = ['--filter', '- logs/**', '--include', '*.txt'];
    const dry = await dm(['backup', 'data', '--secret', 's3', ...filters, '--dry-run', '-o', 'json']);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    const plan = JSON.parse(String(dry.stdout));

    const result = await dm(['backup', 'data', '--secret', 's3', ...filters, '-o', 'json']);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const done = JSON.parse(String(result.stdout));
    // rclone puts --include rules before --filter ones: "+ *.txt" wins, logs/app.txt is kept.
    const kept = (path: string) => path.endsWith('.txt');
    assert.deepEqual(objectsIn(bucketPath()), subset(source, kept));
    assert.deepEqual(
      { sent: plan.send.files, bytes: plan.send.bytes, deleted: plan.delete.files },
      { sent: done.filesSent, bytes: done.bytesSent, deleted: done.filesDeleted },
    );
    assert.equal(done.filesSent, 3);

    const written = JSON.parse(readFileSync(bucketPath(MANIFEST), 'utf8')) as {
      filters?: string[];
      filterRules?: string[];
      entries: Array<{ path: string; type: string }>;
    };
    assert.deepEqual(written.filters, ['--include', '*.txt', '--filter', '- logs/**']);
    assert.ok(written.filterRules?.length);
    assert.deepEqual(
      written.entries
        .filter((e) => e.type !== 'dir')
        .map((e) => e.path)
        .sort(),
      ['a.txt', 'logs/app.txt', 'notes/b.txt'],
    );
  });

  it('leaves an excluded object already at the destination in place, and warns that the filters changed', async () => {
    const first = await dm(['backup', 'data', '--secret', 's3', '-o', 'json']);
    assert.equal(first.exitCode, 0, String(first.stderr));
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));

    const filters = ['--exclude', 'cache/**', '--exclude', '*.log'];
    const dry = await dm(['backup', 'data', '--secret', 's3', ...filters, '--dry-run', '-o', 'json']);
    assert.equal(dry.exitCode, 0, String(dry.stderr));
    const plan = JSON.parse(String(dry.stdout));
    const second = await dm(['backup', 'data', '--secret', 's3', ...filters, '-o', 'json']);
    assert.equal(second.exitCode, 0, String(second.stderr));
    const done = JSON.parse(String(second.stdout));
    assert.equal(done.filesDeleted, 0);
    assert.deepEqual(
      { sent: plan.send.files, unchanged: plan.unchanged.files, deleted: plan.delete.files },
      { sent: done.filesSent, unchanged: done.filesUnchanged, deleted: done.filesDeleted },
    );
    // Excluded, yet still at the destination: as rclone sync leaves excluded files alone.
    assert.deepEqual(objectsIn(bucketPath()), expectedObjects(source));
    assert.match(String(second.stderr), /filters changed since the last backup/);

    const restore = await dm([
      'restore',
      '--secret',
      's3',
      '--from',
      'plain',
      '--to-pvc',
      'back',
      '--create',
      '--size',
      '1Gi',
    ]);
    assert.equal(restore.exitCode, 0, String(restore.stderr));
    assert.match(
      String(restore.stderr),
      /this backup holds only the files its filters kept: --exclude cache\/\*\* --exclude \*\.log/,
    );
  });

  it('refuses an unreadable --filter-from file in one line (exit 2) and creates nothing', async () => {
    const result = await dm(['backup', 'data', '--secret', 's3', '--filter-from', '/nonexistent/rules.txt']);
    assert.equal(result.exitCode, 2, String(result.stderr));
    const lines = String(result.stderr).trim().split('\n');
    assert.equal(lines.length, 1, String(result.stderr));
    assert.match(lines[0]!, /^error: cannot read the --filter-from file "\/nonexistent\/rules\.txt"/);
    assert.equal(await managedLeftovers(ns.name), '');
    assert.deepEqual(objectsIn(bucketPath()), {});
  });

  it("refuses a filter rclone rejects with rclone's words (exit 2)", async () => {
    const result = await dm(['backup', 'data', '--secret', 's3', '--include', '[']);
    assert.equal(result.exitCode, 2, String(result.stderr));
    assert.equal(String(result.stderr).trim().split('\n').length, 1, String(result.stderr));
    assert.match(String(result.stderr), /rclone rejected the filters: mismatched/);
    assert.equal(await managedLeftovers(ns.name), '');
  });
});
