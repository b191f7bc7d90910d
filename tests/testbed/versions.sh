# Pinned versions of everything the test bed builds or installs. Sourced by
# scripts/env.sh and tests/testbed/build-tools.sh; change a version here only.
NODE_VERSION=24.21.0
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
KWOK_VERSION=v0.8.0
RCLONE_VERSION=v1.76.0
KREW_VERSION=v0.4.3
