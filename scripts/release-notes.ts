// npm run release-notes -- vX.Y.Z: that version's section of CHANGELOG.md, for the GitHub release.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The body of the `## [X.Y.Z]` section (Keep a Changelog), or an error naming the missing version. */
export function releaseNotes(changelog: string, tag: string): string {
  const version = tag.replace(/^v/, '');
  const lines = changelog.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`## [${version}]`));
  if (start < 0) throw new Error(`CHANGELOG.md has no "## [${version}]" section: write the release notes first`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim();
  if (!body) throw new Error(`CHANGELOG.md's "## [${version}]" section is empty`);
  return `${body}\n`;
}

if (import.meta.main) {
  const root = resolve(import.meta.dirname, '..');
  process.stdout.write(releaseNotes(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), process.argv[2] ?? ''));
}
