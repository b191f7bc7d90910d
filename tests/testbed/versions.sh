# Pinned versions of everything the test bed builds or installs. Sourced by
# scripts/env.sh and tests/testbed/build-tools.sh; change a version here only.
NODE_VERSION=24.21.0
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
KWOK_VERSION=v0.8.0
# Bump when tests/testbed/kwok-local-exec.patch changes (a new cache folder, so kwok is rebuilt).
KWOK_PATCH_LEVEL=2
RCLONE_VERSION=v1.76.0
KREW_VERSION=v0.4.3
PUSHGATEWAY_VERSION=v1.11.1
PROM2JSON_VERSION=v1.4.2
# kubernetes-csi/external-snapshotter: the snapshot-controller (module .../v8) and the
# VolumeSnapshot CRDs (module .../client/v8, config/crd) of the same release.
EXTERNAL_SNAPSHOTTER_VERSION=v8.7.0
# Lints .github/workflows (scripts/lint.sh).
ACTIONLINT_VERSION=v1.7.12
# An rclone older than the plugin's minimum (1.60), for the "old rclone" test:
# Debian bullseye's package, fetched from Debian's archive and checked.
RCLONE_OLD_DEB=pool/main/r/rclone/rclone_1.53.3-1+b6_amd64.deb
RCLONE_OLD_SHA256=1bef59770375a1b7cc98964a3fa77e186318ae4ac5174b30fa0a3d9962e5fdf7
RCLONE_OLD_VERSION=v1.53.3
