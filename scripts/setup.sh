#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine:
# apt packages, Node 24 (from the npm registry when the system's Node is older),
# the npm dependencies, and the test bed's Go tools (cached outside the repo).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

APT_PACKAGES=(rclone busybox openssl curl ca-certificates git npm zip shellcheck strace)
APT_COMMANDS=(rclone busybox openssl curl update-ca-certificates git npm zip shellcheck strace)
missing=()
for i in "${!APT_COMMANDS[@]}"; do
  command -v "${APT_COMMANDS[$i]}" >/dev/null || missing+=("${APT_PACKAGES[$i]}")
done
if (( ${#missing[@]} )); then
  log "installing apt packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if (( $(system_node_ok) == 0 )) && [[ ! -x $DATAMOVER_NODE_DIR/bin/node ]]; then
  arch=$(uname -m); case $arch in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; esac
  log "system Node is older than 22.18; installing Node $NODE_VERSION from the npm registry"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
  mkdir -p "$DATAMOVER_NODE_DIR"
  tar -xzf "$tmp"/node-linux-*.tgz -C "$DATAMOVER_NODE_DIR" --strip-components=1 package/bin package/LICENSE
  rm -rf "$tmp"
fi
source "$(dirname "$0")/env.sh"   # again, now that Node 24 may exist
log "node $(node --version)"

stamp=node_modules/.package-lock.sha
if [[ ! -f $stamp ]] || [[ $(sha256sum package-lock.json) != "$(cat "$stamp")" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund
  sha256sum package-lock.json > "$stamp"
fi

command -v go >/dev/null || {
  log "Go is required to build the test bed tools (any Go >= 1.21 fetches the right toolchain)"
  exit 1
}
bash tests/testbed/build-tools.sh
log "ready"
