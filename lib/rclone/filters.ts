// rclone's filter flags (--include, --exclude, --filter, --filter-from), compiled by the user's rclone
// itself (`lsf --dump filters`) so that the glob syntax is rclone's own, then applied here to the
// pod's listing as rclone applies them: a path is kept when each of its folders passes the directory
// rules and the path itself the file rules, the first matching rule deciding (no match keeps it).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.ts';

/** Each repeatable; one given once may come as a plain string. */
export interface FilterFlags {
  include?: string[] | string;
  exclude?: string[] | string;
  filter?: string[] | string;
  'filter-from'?: string[] | string;
}

export interface FilterRule {
  include: boolean;
  /** The rule as rclone printed it (`+ (^|/)[^/]*\.txt$`). */
  line: string;
  regex: RegExp;
}

export interface CompiledFilters {
  /** The flags as given, for rclone and the manifest: ["--include", "*.txt", ...]. */
  args: string[];
  files: FilterRule[];
  dirs: FilterRule[];
}

/** The flags in the order rclone takes them; empty when no filter was given. */
export function filterArgs(flags: FilterFlags): string[] {
  const args: string[] = [];
  for (const name of ['include', 'exclude', 'filter', 'filter-from'] as const)
    for (const value of [flags[name] ?? []].flat()) args.push(`--${name}`, String(value));
  return args;
}

function parseRule(line: string): FilterRule {
  const match = /^([+-]) (.*)$/.exec(line);
  if (!match) throw new Error(`unexpected filter rule from rclone: ${line}`);
  let source = match[2]!;
  let flags = '';
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    flags = 'i';
  }
  // RE2 features JS reads differently (or not at all): refused rather than matched wrongly.
  if (/\(\?|\[\[?:|\\[pPQEzAC]/.test(source))
    throw new UsageError(
      `the filter rule "${line}" uses a regular expression feature this plugin cannot apply`,
      'use plain globs (*, **, ?, [a-z], {a,b}) in the filters',
    );
  return { include: match[1] === '+', line, regex: new RegExp(source, flags) };
}

/** The rule blocks of `rclone lsf --dump filters` (stdout). */
export function parseFilterDump(output: string, args: string[] = []): CompiledFilters {
  const compiled: CompiledFilters = { args, files: [], dirs: [] };
  let section: FilterRule[] | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '--- File filter rules ---') section = compiled.files;
    else if (line === '--- Directory filter rules ---') section = compiled.dirs;
    else if (line.startsWith('--- ')) section = undefined;
    else if (section && line) section.push(parseRule(line));
  }
  return compiled;
}

function firstMatch(rules: FilterRule[], path: string): boolean {
  for (const rule of rules) if (rule.regex.test(path)) return rule.include;
  return true;
}

/** Whether a file (or symlink) at `path` (relative, no leading "/") passes the filters. */
export function keepsFile(filters: CompiledFilters, path: string): boolean {
  return keepsFolders(filters, path) && firstMatch(filters.files, path);
}

/** Whether a folder at `path` passes the directory rules, its parents included. */
export function keepsDir(filters: CompiledFilters, path: string): boolean {
  return keepsFolders(filters, `${path}/x`);
}

function keepsFolders(filters: CompiledFilters, path: string): boolean {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const folder = `${parts.slice(0, i).join('/')}/`;
    if (!firstMatch(filters.dirs, folder)) return false;
  }
  return true;
}

/** The rule lines, for comparing two runs' filters (a --filter-from file's content included). */
export function ruleLines(filters: CompiledFilters): string[] {
  return [...filters.files.map((r) => `file ${r.line}`), ...filters.dirs.map((r) => `dir ${r.line}`)];
}

/**
 * Asks rclone to compile the filters. A --filter-from file that cannot be read, and a filter
 * rclone rejects, are usage errors (exit 2) in one line.
 */
export async function compileFilters(binary: string, flags: FilterFlags): Promise<CompiledFilters | undefined> {
  const args = filterArgs(flags);
  if (!args.length) return undefined;
  for (const file of [flags['filter-from'] ?? []].flat())
    await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read the --filter-from file "${file}" (${err.code ?? err.message})`, 'fix the path');
    });
  const empty = await mkdtemp(join(tmpdir(), 'kubectl-datamover-filters-'));
  try {
    const result = await execa(binary, ['lsf', '--dump', 'filters', ...args, empty], {
      reject: false,
      timeout: 20_000,
      env: { RCLONE_CONFIG: '/dev/null' },
    });
    if (result.exitCode !== 0 || !result.stdout.includes('--- start filters ---')) {
      const lines = String(result.stderr).split('\n').filter(Boolean);
      const said = lines.find((l) => /Failed to load filters/.test(l)) ?? lines.at(-1) ?? 'no output';
      throw new UsageError(
        `rclone rejected the filters: ${said.replace(/^.*?Failed to load filters: /, '')}`,
        'fix the --include/--exclude/--filter/--filter-from rules (rclone filter syntax)',
      );
    }
    return parseFilterDump(String(result.stdout), args);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}
