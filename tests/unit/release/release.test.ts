import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { krewManifest, krewReleaseTemplate, releaseUri } from '../../../krew-manifest/manifest.ts';
import { PLATFORMS } from '../../../krew-manifest/platforms.ts';
import { releaseNotes } from '../../../scripts/release-notes.ts';
import { REPO_ROOT } from '../../testbed/paths.ts';

/** What krew-release-bot makes of the template for a tag: each addURIAndSha as the URL and its sha256. */
function renderLikeTheBot(template: string, tag: string, sha256Of: (url: string) => string): string {
  return template
    .replace(/\{\{addURIAndSha "([^"]+)" \.TagName \}\}/g, (_, url: string) => {
      const uri = url.replaceAll('{{ .TagName }}', tag);
      return `uri: ${uri}\n    sha256: ${sha256Of(uri)}`;
    })
    .replaceAll('{{ .TagName }}', tag);
}

describe('release', () => {
  it('commits plugin.yaml as the krew-release-bot template (npm run krew-template writes it)', () => {
    assert.equal(readFileSync(join(REPO_ROOT, 'plugin.yaml'), 'utf8'), krewReleaseTemplate());
  });

  it('renders, as the bot does, to exactly the manifest the release builds next to the archives', () => {
    const sha256Of = (uri: string) => `${uri.length.toString(16).padStart(64, '0')}`;
    const archives = PLATFORMS.map((platform) => ({
      platform,
      file: platform.archive,
      sha256: sha256Of(releaseUri('1.2.3', platform.archive)),
    }));
    const built = krewManifest('1.2.3', archives, (a) => releaseUri('1.2.3', a.platform.archive));
    assert.equal(renderLikeTheBot(krewReleaseTemplate(), 'v1.2.3', sha256Of), built);
  });

  it("takes a version's notes from its CHANGELOG.md section, without the next one", () => {
    const changelog = '# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2026-12-01\n### Fixed\n- a\n\n## [1.0.0]\n- b\n';
    assert.equal(releaseNotes(changelog, 'v1.1.0'), '### Fixed\n- a\n');
    assert.equal(releaseNotes(changelog, 'v1.0.0'), '- b\n');
  });

  it('refuses to release a version without notes', () => {
    assert.throws(() => releaseNotes('## [1.0.0]\n- b\n', 'v2.0.0'), /no "## \[2\.0\.0\]" section/);
    assert.throws(() => releaseNotes('## [2.0.0]\n\n## [1.0.0]\n- b\n', 'v2.0.0'), /section is empty/);
  });

  it("has notes for package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.ok(releaseNotes(readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'), `v${version}`).length > 0);
  });
});
