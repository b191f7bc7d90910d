// Writes plugin.yaml, the krew-release-bot template (krew-manifest/manifest.ts), for `npm run krew-template`
// after a change to the manifest's text or platforms; a unit test fails while they differ.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { krewReleaseTemplate } from '../krew-manifest/manifest.ts';

writeFileSync(join(resolve(import.meta.dirname, '..'), 'plugin.yaml'), krewReleaseTemplate());
