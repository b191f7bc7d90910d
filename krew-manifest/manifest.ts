// The krew Plugin manifest (krew.googlecontainertools.github.com/v1alpha2),
// one platform entry per archive with its sha256. tests/e2e/krew.test.ts
// checks it with krew's own validate-krew-manifest and installs it with krew.
import type { Platform } from './platforms.ts';

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

export function krewManifest(
  version: string,
  archives: BuiltArchive[],
  uriFor: (archive: BuiltArchive) => string,
): string {
  const platforms = archives
    .map(
      (a) => `  - selector:
      matchLabels:
        os: ${a.platform.os}
        arch: ${a.platform.arch}
    uri: ${uriFor(a)}
    sha256: ${a.sha256}
    bin: ${a.platform.bin}
    files:
    - from: ${a.platform.bin}
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
  version: v${version}
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
