import assert from 'node:assert/strict';
import { archivable, streamsBatches } from '../../../lib/restore/streamed-downloads.ts';
import type { ManifestEntry } from '../../../lib/store/manifest.ts';
import type { BackupManifest } from '../../../lib/store/manifest.ts';

const entry = (path: string, type: ManifestEntry['type']): ManifestEntry => ({
  path,
  type,
  mode: 0o644,
  mtime: 1,
  size: 1,
});
const files = (...paths: string[]) => paths.map((path) => ({ path, source: path, size: 1 }));

describe('batches streamed from rclone archive', () => {
  const entries = new Map([
    ['a.txt', entry('a.txt', 'file')],
    ['link', entry('link', 'symlink')],
    ['dir', entry('dir', 'dir')],
  ]);

  const manifest = { version: 1, entries: [] } as unknown as BackupManifest;

  it('streams files and links that the manifest describes, with an rclone that has archive create', () => {
    assert.equal(archivable(['a.txt', 'link.rclonelink'], files('a.txt', 'link'), entries), true);
    assert.equal(streamsBatches('1.72.0', manifest), true);
  });

  it('stages them with an rclone before 1.72', () => {
    assert.equal(streamsBatches('1.71.2', manifest), false);
    assert.equal(streamsBatches('1.60.0', manifest), false);
  });

  it('stages a batch with a file the manifest does not describe (its mtime would be the upload time)', () => {
    assert.equal(archivable(['a.txt', 'b.txt'], files('a.txt', 'b.txt'), entries), false);
  });

  it('stages a batch whose object and entry disagree on being a link', () => {
    assert.equal(archivable(['link'], files('link'), entries), false);
    assert.equal(archivable(['a.txt.rclonelink'], files('a.txt'), entries), false);
  });

  it("stages a batch with a key holding rclone's quote (raw bytes in the archive, not the key)", () => {
    const quoted = new Map([['caf\udce9', entry('caf\udce9', 'file')]]);
    assert.equal(archivable(['caf‛E9'], [{ path: 'caf\udce9', source: 'caf\udce9', size: 1 }], quoted), false);
  });

  it('streams a restore only when the backup has a manifest', () => {
    assert.equal(streamsBatches('1.76.0', manifest), true);
    assert.equal(streamsBatches('1.76.0', undefined), false);
    assert.equal(streamsBatches('1.65.0', manifest), false);
  });
});
