// The krew Plugin manifest (krew.googlecontainertools.github.com/v1alpha2),
// one platform entry per archive with its sha256 (tests/e2e/krew.test.ts checks
// it with krew's own validate-krew-manifest and installs it with krew), and the
// krew-release-bot template of it that is committed as plugin.yaml.
import { PLATFORMS, type Platform } from './platforms.ts';

export interface BuiltArchive {
  platform: Platform;
  file: string;
  sha256: string;
}

export const PLUGIN_NAME = 'datamover';
export const HOMEPAGE = 'https://github.com/a-cup-of-coffee/kubectl-datamover';

export function releaseUri(version: string, archive: string): string {
  return `${HOMEPAGE}/releases/download/v${version}/${archive}`;
}

/** The release manifest: every platform's archive at `uriFor` with its sha256. */
export function krewManifest(
  version: string,
  archives: BuiltArchive[],
  uriFor: (archive: BuiltArchive) => string,
): string {
  return render(
    `v${version}`,
    archives.map((a) => ({ platform: a.platform, location: `uri: ${uriFor(a)}\n    sha256: ${a.sha256}` })),
  );
}

/**
 * The committed plugin.yaml: krew-release-bot's template (`krew_template_file` in the release
 * workflow), which the bot renders for a tag with each archive's URL and sha256 into the krew-index
 * pull request. Made from the same text as krewManifest, so the two cannot drift apart.
 */
export function krewReleaseTemplate(): string {
  const url = (archive: string) => `${HOMEPAGE}/releases/download/{{ .TagName }}/${archive}`;
  return render(
    '{{ .TagName }}',
    PLATFORMS.map((platform) => ({ platform, location: `{{addURIAndSha "${url(platform.archive)}" .TagName }}` })),
  );
}

function render(versionTag: string, entries: Array<{ platform: Platform; location: string }>): string {
  const platforms = entries
    .map(
      ({ platform, location }) => `  - selector:
      matchLabels:
        os: ${platform.os}
        arch: ${platform.arch}
    ${location}
    bin: ${platform.bin}
    files:
    - from: ${platform.bin}
      to: .
    - from: LICENSE
      to: .`,
    )
    .join('\n');
  return `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: ${PLUGIN_NAME}
spec:
  version: ${versionTag}
  homepage: ${HOMEPAGE}
  shortDescription: Back up PVCs to S3 with the DataMover operator or locally
  description: |
    Gets a PersistentVolumeClaim's data safely into S3-compatible object
    storage (MinIO, Ceph RGW, AWS, GCS, Wasabi) and back. Operator mode creates
    and follows DataMover and DataMoverSchedule resources of the DataMover
    operator; local mode needs no operator: it clones the PVC, streams the
    files out through the Kubernetes API and uploads them with your own rclone.
  caveats: |
    Local mode needs rclone >= 1.60 on your PATH (https://rclone.org/install/).
    Run "kubectl datamover --help" to get started.
  platforms:
${platforms}
`;
}
