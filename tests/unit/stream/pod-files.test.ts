import assert from 'node:assert/strict';
import { nulList, parseListing, parseMd5Output } from '../../../lib/stream/pod-files.ts';

// Captured from BusyBox 1.35: find . ! -name . -print0 | xargs -0 -r stat -c '%f %s %Y %n'
// in a folder holding a fifo, a file with two spaces in its name, a symlink to a.txt,
// a folder, and a setuid file a.txt (mode 4755).
const LISTING = [
  '11a4 0 1767225600 ./pipe',
  '81a4 2 1767225600 ./my file  two.txt',
  'a1ff 5 1767225600 ./link',
  '41ed 4096 1767225600 ./sub',
  '89ed 6 1767225600 ./a.txt',
  '',
].join('\n');

function byPath(path: string) {
  const file = parseListing(LISTING).find((f) => f.path === path);
  assert.ok(file, `no entry ${path}`);
  return file;
}

describe('pod file listing', () => {
  it('reads one entry per line, without the "./" prefix, skipping the trailing empty line', () => {
    assert.deepEqual(
      parseListing(LISTING).map((f) => f.path),
      ['pipe', 'my file  two.txt', 'link', 'sub', 'a.txt'],
    );
  });

  it('reads the size and the mtime in seconds', () => {
    const file = byPath('a.txt');
    assert.deepEqual({ size: file.size, mtime: file.mtime }, { size: 6, mtime: 1_767_225_600 });
  });

  it('keeps the permission bits, setuid included, without the type bits', () => {
    assert.equal(byPath('a.txt').mode, 0o4755);
  });

  it('recognises a regular file', () => {
    assert.equal(byPath('a.txt').type, 'file');
  });

  it('recognises a folder', () => {
    assert.equal(byPath('sub').type, 'dir');
  });

  it('recognises a symlink', () => {
    assert.equal(byPath('link').type, 'symlink');
  });

  it('calls a fifo "other"', () => {
    assert.equal(byPath('pipe').type, 'other');
  });

  it('throws on a line that is not a stat line, quoting it', () => {
    assert.throws(() => parseListing('stat: ./x: Permission denied\n'), /Permission denied/);
  });

  it('throws on a path without the "./" prefix', () => {
    assert.throws(() => parseListing('81a4 2 1767225600 /etc/passwd\n'), /unexpected line/);
  });
});

describe('NUL-separated file lists', () => {
  it('prefixes each path with "./" and ends each with a NUL', () => {
    assert.deepEqual(nulList(['a.txt', 'my dir/b c']), Buffer.from('./a.txt\0./my dir/b c\0'));
  });

  it('encodes names as UTF-8', () => {
    assert.deepEqual(nulList(['é']), Buffer.from([0x2e, 0x2f, 0xc3, 0xa9, 0]));
  });

  it('is empty for no paths', () => {
    assert.equal(nulList([]).length, 0);
  });
});

describe('md5sum output', () => {
  // Captured from BusyBox 1.35 md5sum.
  const OUTPUT = [
    '401b30e3b8b5d629635a5c613cdb7919  ./my file  two.txt',
    'b1946ac92492d2347c6235b4d2611184  ./a.txt',
    '',
  ].join('\n');

  it('maps each path, without "./", to its sum', () => {
    assert.equal(parseMd5Output(OUTPUT).get('a.txt'), 'b1946ac92492d2347c6235b4d2611184');
  });

  it('keeps two spaces inside a name', () => {
    assert.equal(parseMd5Output(OUTPUT).get('my file  two.txt'), '401b30e3b8b5d629635a5c613cdb7919');
  });

  it('ignores error lines', () => {
    const sums = parseMd5Output(`md5sum: ./gone: No such file or directory\n${OUTPUT}`);
    assert.deepEqual([...sums.keys()], ['my file  two.txt', 'a.txt']);
  });
});
