import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { metadataHeaders } from '../../../lib/rclone/stream-upload.ts';
import { rcloneAtLeast } from '../../../lib/rclone/binary.ts';

describe('stream uploads', () => {
  it("give the object the file's mtime in whole seconds, as rclone's X-Amz-Meta-Mtime", () => {
    assert.deepEqual(metadataHeaders(new Date('2024-02-03T04:05:06.789Z')), [
      '--header-upload',
      'X-Amz-Meta-Mtime: 1706933106',
    ]);
  });

  it("give it the pod's MD5 as rclone's X-Amz-Meta-Md5chksum (base64 of the 16 bytes)", () => {
    const md5 = createHash('md5').update('hello\n').digest();
    const headers = metadataHeaders(new Date(0), md5.toString('hex'));
    assert.equal(headers[3], `X-Amz-Meta-Md5chksum: ${md5.toString('base64')}`);
    assert.equal(headers[3], 'X-Amz-Meta-Md5chksum: sZRqySSS0jR8YjW00mERhA==');
  });

  it('are used only from an rclone version on', () => {
    assert.equal(rcloneAtLeast('1.76.0', [1, 76]), true);
    assert.equal(rcloneAtLeast('1.80.1', [1, 76]), true);
    assert.equal(rcloneAtLeast('2.0.0', [1, 76]), true);
    assert.equal(rcloneAtLeast('1.60.1', [1, 76]), false);
    assert.equal(rcloneAtLeast('1.9.0', [1, 60]), false);
  });
});
