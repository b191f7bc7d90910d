#!/usr/bin/env bash
# Builds the test bed's Go tools from the Go module proxy, pinned, into a cache
# outside the repository: ${DATAMOVER_TOOLS_CACHE:-~/.cache/kubectl-datamover/tools}/<name>-<version>/bin.
# A tool whose folder already holds its binaries is skipped, so reruns cost nothing.
# Usage: build-tools.sh [kubernetes|etcd|kwok|rclone|krew|pushgateway|prom2json|actionlint|snapshot-controller|
#                        rclone-old|operator ...]
#          (default: all; operator is skipped with one line when its source is absent)
#        build-tools.sh operator-bin: where the operator's manager is (built or not), nothing without source
#        build-tools.sh snapshot-crds: the folder of the VolumeSnapshot CRDs in the Go module cache
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/versions.sh"

CACHE="${DATAMOVER_TOOLS_CACHE:-$HOME/.cache/kubectl-datamover/tools}"
export CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=auto

log() { printf '[build-tools] %s\n' "$*" >&2; }

# build NAME VERSION SETUP_FN LDFLAGS PACKAGE[=BINARY]...
build() {
  local name=$1 version=$2 setup=$3 ldflags=$4; shift 4
  local dir="$CACHE/$name-$version" pkgs=() spec missing=0
  for spec in "$@"; do
    pkgs+=("${spec%%=*}")
    [[ -x $dir/bin/$(binary_name "$spec") ]] || missing=1
  done
  if [[ $missing == 0 ]]; then log "$name $version: cached in $dir"; return; fi
  local start=$SECONDS src="$dir/src"
  rm -rf "$src" && mkdir -p "$src" "$dir/bin"
  log "$name $version: building ${pkgs[*]} ..."
  (
    set -e
    cd "$src"
    "$setup" "$version" "${pkgs[@]}"
    for spec in "$@"; do
      go build -ldflags "$ldflags" -o "$dir/bin/$(binary_name "$spec")" "${spec%%=*}"
    done
  )
  rm -rf "$src"
  log "$name $version: built in $((SECONDS - start))s"
}
binary_name() { if [[ $1 == *=* ]]; then echo "${1#*=}"; else basename "$1"; fi; }

# k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces
# every k8s.io/<staging> module with a local folder, so a tools module must
# replace each of them with the published v0.x.y of the same release.
setup_kubernetes() {
  local version=$1 staging=v0.${1#v1.}
  go mod init datamover-testbed-tools/kubernetes >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@$version"
  curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/k8s.io/kubernetes/@v/$version.mod" \
    | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' \
    | while read -r mod; do go mod edit -replace="$mod=$mod@$staging"; done
  printf 'package tools\nimport (\n_ "k8s.io/kubernetes/cmd/kube-apiserver"\n_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n_ "k8s.io/kubernetes/cmd/kube-scheduler"\n_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
  go mod tidy >/dev/null
}
# A throwaway module that requires each package to build at the pinned version.
setup_module() {
  local version=$1; shift
  go mod init datamover-testbed-tools >/dev/null 2>&1
  go get "${@/%/@$version}" >/dev/null
}

# kwok's local exec (v0.8.0) does not close the process's stdin when the client
# closes it, reports exit codes as internal errors, and runs commands as itself;
# the patch makes it do what a kubelet does (the last through the bed's sandbox,
# named by the Exec's KWOK_EXEC_WRAPPER). KWOK_PATCH_LEVEL is in versions.sh.
setup_kwok() {
  local version=$1 dir; shift
  go mod init datamover-testbed-tools >/dev/null 2>&1
  dir=$(go mod download -json "sigs.k8s.io/kwok@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  cp -r "$dir" kwok && chmod -R u+w kwok
  (cd kwok && patch -s -p1 < "$HERE/kwok-local-exec.patch")
  go mod edit -require="sigs.k8s.io/kwok@$version" -replace="sigs.k8s.io/kwok=./kwok"
  { echo 'package tools'; echo 'import ('; printf '_ "%s"\n' "$@"; echo ')'; } > tools.go
  go mod tidy >/dev/null
}

k8s_ldflags() {
  local v=$K8S_VERSION minor
  minor=$(cut -d. -f2 <<<"$v")
  local p=k8s.io/component-base/version
  echo "-s -w -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
}

# A released Debian package, not built: only its binary is kept.
fetch_rclone_old() {
  local dir="$CACHE/rclone-$RCLONE_OLD_VERSION" tmp
  if [[ -x $dir/bin/rclone ]]; then log "rclone $RCLONE_OLD_VERSION: cached in $dir"; return; fi
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/rclone.deb" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}/$RCLONE_OLD_DEB"
  echo "$RCLONE_OLD_SHA256  $tmp/rclone.deb" | sha256sum -c --quiet
  dpkg-deb -x "$tmp/rclone.deb" "$tmp/root"
  mkdir -p "$dir/bin" && mv "$tmp/root/usr/bin/rclone" "$dir/bin/rclone"
  rm -rf "$tmp"
  log "rclone $RCLONE_OLD_VERSION: fetched from Debian into $dir"
}

# kwokctl replaces all its default stages when its config has any, so the bed needs
# the default ones as files (kwok's own, from its module) to change one of them.
kwok_stages() {
  local dir="$CACHE/kwok-stages-$KWOK_VERSION" tmp mod
  if [[ -f $dir/pod-complete.yaml ]]; then log "kwok stages $KWOK_VERSION: cached in $dir"; return; fi
  tmp=$(mktemp -d)
  mod=$(cd "$tmp" && go mod init datamover-testbed-tools >/dev/null 2>&1 \
    && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  mkdir -p "$dir"
  cp "$mod"/kustomize/stage/node/fast/node-initialize.yaml \
    "$mod"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$mod"/kustomize/stage/pod/fast/pod-{ready,complete,delete}.yaml "$dir/"
  chmod 644 "$dir"/*.yaml
  rm -rf "$tmp"
  log "kwok stages $KWOK_VERSION: copied from its module into $dir"
}

# The DataMover operator's manager, built from a checkout of its source (not from
# the module proxy: its module path is not served there), cached under a hash of
# the files the build reads, so that a changed checkout rebuilds and a rerun is free.
OPERATOR_SRC="${DATAMOVER_OPERATOR_SRC:-$(cd "$HERE/../.." && pwd)/../shared/datamover-operator}"
operator_bin() {
  [[ -f $OPERATOR_SRC/go.mod ]] || return 0
  local hash
  hash=$(cd "$OPERATOR_SRC" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) ! -path './.git/*' \
    -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  echo "$CACHE/datamover-operator-$hash/bin/manager"
}
build_operator() {
  local bin start=$SECONDS
  bin=$(operator_bin)
  if [[ -z $bin ]]; then
    log "operator: no source at $OPERATOR_SRC (set DATAMOVER_OPERATOR_SRC to a checkout); skipped"
    return
  fi
  if [[ -x $bin ]]; then log "operator: cached in ${bin%/bin/manager}"; return; fi
  log "operator: building the manager from $OPERATOR_SRC ..."
  mkdir -p "$(dirname "$bin")"
  (cd "$OPERATOR_SRC" && go build -ldflags "-s -w" -o "$bin.tmp" ./cmd) && mv "$bin.tmp" "$bin"
  log "operator: built in $((SECONDS - start))s into ${bin%/bin/manager}"
}

# The VolumeSnapshot CRDs of the pinned release: used where they are, in the Go module cache
# (go mod download fetches them again if that cache was cleaned), never copied into the repository.
snapshot_crds() {
  local tmp dir
  tmp=$(mktemp -d)
  dir=$(cd "$tmp" && go mod init datamover-testbed-tools >/dev/null 2>&1 \
    && go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$EXTERNAL_SNAPSHOTTER_VERSION" \
    | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  rm -rf "$tmp"
  [[ -f $dir/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml ]] || {
    log "snapshot CRDs $EXTERNAL_SNAPSHOTTER_VERSION: not found in the module cache"
    exit 1
  }
  echo "$dir/config/crd"
}

if [[ ${1:-} == operator-bin ]]; then operator_bin; exit 0; fi
if [[ ${1:-} == snapshot-crds ]]; then snapshot_crds; exit 0; fi

want=("$@")
[[ ${#want[@]} == 0 ]] && want=(kubernetes etcd kwok rclone krew pushgateway prom2json actionlint snapshot-controller
  rclone-old operator)
for tool in "${want[@]}"; do
  case $tool in
    kubernetes) build kubernetes "$K8S_VERSION" setup_kubernetes "$(k8s_ldflags)" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ;;
    etcd) build etcd "$ETCD_VERSION" setup_module "-s -w" go.etcd.io/etcd/server/v3=etcd ;;
    kwok) build "kwok-patch$KWOK_PATCH_LEVEL" "$KWOK_VERSION" setup_kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
        sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
      kwok_stages ;;
    rclone) build rclone "$RCLONE_VERSION" setup_module "-s -w -X github.com/rclone/rclone/fs.Version=$RCLONE_VERSION" \
        github.com/rclone/rclone ;;
    krew) build krew "$KREW_VERSION" setup_module "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" \
        sigs.k8s.io/krew/cmd/krew=kubectl-krew sigs.k8s.io/krew/cmd/validate-krew-manifest ;;
    pushgateway) build pushgateway "$PUSHGATEWAY_VERSION" setup_module "-s -w -X github.com/prometheus/common/version.Version=${PUSHGATEWAY_VERSION#v}" \
        github.com/prometheus/pushgateway ;;
    prom2json) build prom2json "$PROM2JSON_VERSION" setup_module "-s -w" github.com/prometheus/prom2json/cmd/prom2json ;;
    actionlint) build actionlint "$ACTIONLINT_VERSION" setup_module "-s -w" \
        github.com/rhysd/actionlint/cmd/actionlint ;;
    snapshot-controller) build snapshot-controller "$EXTERNAL_SNAPSHOTTER_VERSION" setup_module \
        "-s -w -X main.version=$EXTERNAL_SNAPSHOTTER_VERSION" \
        github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller
      log "snapshot CRDs $EXTERNAL_SNAPSHOTTER_VERSION: in $(snapshot_crds)" ;;
    operator) build_operator ;;
    rclone-old) [[ $(uname -m) == x86_64 ]] && fetch_rclone_old || log "rclone-old: only on x86_64, skipped" ;;
    *) log "unknown tool: $tool"; exit 2 ;;
  esac
done
