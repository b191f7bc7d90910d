import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../../../lib/errors.ts';
import {
  compileFilters,
  filterArgs,
  keepsDir,
  keepsFile,
  parseFilterDump,
  type FilterFlags,
} from '../../../lib/rclone/filters.ts';

// rclone 1.60 and 1.76 alike, for --include '*.txt' --exclude 'logs/**'.
const DUMP = `--- start filters ---
--- File filter rules ---
+ (^|/)[^/]*\\.txt$
- (^|/)logs/.*$
- ^.*$
--- Directory filter rules ---
+ ^.*$
- (^|/)logs/.*$
- ^.*$
--- end filters ---
`;

const TREE = [
  'a.txt',
  'b.log',
  'logs/x.txt',
  'logs/deep/y.txt',
  'docs/readme.txt',
  'docs/readme.md',
  'docs/logs/z.txt',
  'Upper.TXT',
  'ab/c1.dat',
  'ab/cz.dat',
  'ab/c.x',
  'ac/c1.y',
  'q/a?b.txt',
  'space name/f.json',
  'cache/tmp/t.bin',
  'deep/cache/t.bin',
];

const CASES: FilterFlags[] = [
  { include: ['*.txt'], exclude: ['logs/**'] },
  { exclude: ['*.log'] },
  { include: ['/docs/**'] },
  { include: ['docs/'] },
  { exclude: ['cache/'] },
  { exclude: ['/cache/**'] },
  { include: ['a?/c[0-9].*'] },
  { include: ['**/*.{dat,json}'] },
  { filter: ['- logs/**', '+ *.txt', '- *'] },
  { include: ['*.txt'], 'ignore-case': true } as FilterFlags,
];

function rcloneFiles(root: string, args: string[]): string[] {
  const out = execFileSync('rclone', ['lsf', '-R', '--files-only', ...args, root], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter(Boolean).sort();
}

describe('rclone filters', () => {
  it('parses the file and directory rules rclone dumps, in order', () => {
    const filters = parseFilterDump(DUMP, ['--include', '*.txt']);
    assert.deepEqual(
      filters.files.map((r) => [r.include, r.regex.source]),
      [
        [true, '(^|\\/)[^/]*\\.txt$'],
        [false, '(^|\\/)logs\\/.*$'],
        [false, '^.*$'],
      ],
    );
    assert.equal(filters.dirs.length, 3);
    assert.deepEqual(filters.args, ['--include', '*.txt']);
  });

  it('keeps a file only when its folders and itself pass, the first matching rule deciding', () => {
    const filters = parseFilterDump(DUMP);
    assert.equal(keepsFile(filters, 'a.txt'), true);
    assert.equal(keepsFile(filters, 'b.log'), false);
    // rclone puts --include rules before --exclude ones: "+ *.txt" matches first.
    assert.equal(keepsFile(filters, 'logs/x.txt'), true);
    assert.equal(keepsFile(filters, 'logs/x.md'), false);
    assert.equal(keepsFile(filters, 'docs/readme.txt'), true);
    // With an --include, rclone lets every folder in and decides on the files.
    assert.equal(keepsDir(filters, 'logs'), true);
    const dirs = parseFilterDump('--- Directory filter rules ---\n- (^|/)logs/.*$\n');
    assert.equal(keepsDir(dirs, 'logs'), false);
    assert.equal(keepsFile(dirs, 'logs/deep/y.txt'), false);
    assert.equal(keepsDir(dirs, 'docs'), true);
  });

  it('keeps everything a rule list without a match leaves alone', () => {
    const filters = parseFilterDump('--- File filter rules ---\n- ^x$\n--- Directory filter rules ---\n');
    assert.equal(keepsFile(filters, 'y/z'), true);
  });

  it('lists the flags in the order rclone is given them', () => {
    assert.deepEqual(filterArgs({ exclude: ['b'], include: ['a'], 'filter-from': ['f'] }), [
      '--include',
      'a',
      '--exclude',
      'b',
      '--filter-from',
      'f',
    ]);
    assert.deepEqual(filterArgs({}), []);
    assert.deepEqual(filterArgs({ filter: '- *.log' }), ['--filter', '- *.log']);
  });

  it('refuses a rule whose regular expression JS would read differently', () => {
    assert.throws(
      () => parseFilterDump('--- File filter rules ---\n+ ^[[:alpha:]]$\n'),
      (err: unknown) => err instanceof UsageError,
    );
  });

  describe('against rclone itself', function () {
    this.timeout(60_000);
    let root: string;
    before(function () {
      try {
        execFileSync('rclone', ['version'], { stdio: 'ignore' });
      } catch {
        this.skip();
      }
      root = mkdtempSync(join(tmpdir(), 'filters-test-'));
      for (const path of TREE) {
        mkdirSync(join(root, dirname(path)), { recursive: true });
        writeFileSync(join(root, path), path);
      }
    });
    after(() => root && rmSync(root, { recursive: true, force: true }));

    for (const flags of CASES) {
      const args = filterArgs(flags);
      const ignoreCase = (flags as { 'ignore-case'?: boolean })['ignore-case'];
      it(`keeps what rclone keeps for ${args.join(' ')}${ignoreCase ? ' (ignore case)' : ''}`, async () => {
        const compiled = ignoreCase
          ? parseFilterDump(
              execFileSync('rclone', ['lsf', '--dump', 'filters', '--ignore-case', ...args, root], {
                encoding: 'utf8',
                stdio: ['ignore', 'pipe', 'ignore'],
              }),
            )
          : (await compileFilters('rclone', flags))!;
        const ours = TREE.filter((p) => keepsFile(compiled, p)).sort();
        assert.deepEqual(ours, rcloneFiles(root, ignoreCase ? ['--ignore-case', ...args] : args));
      });
    }

    it('reads rules from a --filter-from file', async () => {
      const file = join(root, '..', `rules-${process.pid}.txt`);
      writeFileSync(file, '# comment\n- cache/**\n+ **/*.bin\n- *\n');
      try {
        const compiled = (await compileFilters('rclone', { 'filter-from': [file] }))!;
        const ours = TREE.filter((p) => keepsFile(compiled, p)).sort();
        assert.deepEqual(ours, rcloneFiles(root, ['--filter-from', file]));
      } finally {
        rmSync(file, { force: true });
      }
    });

    it('refuses an unreadable --filter-from file as a usage error', async () => {
      await assert.rejects(
        compileFilters('rclone', { 'filter-from': ['/nonexistent/rules.txt'] }),
        (err: unknown) => err instanceof UsageError && /--filter-from.*rules\.txt/.test(err.message),
      );
    });

    it("refuses a filter rclone rejects, with rclone's words", async () => {
      await assert.rejects(
        compileFilters('rclone', { include: ['['] }),
        (err: unknown) => err instanceof UsageError && /mismatched '\[' and '\]'/.test(err.message),
      );
    });

    it('compiles nothing without filters', async () => {
      assert.equal(await compileFilters('rclone', {}), undefined);
    });
  });
});
