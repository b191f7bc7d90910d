# Sourced by the other scripts: where the pinned tools live, and a PATH that
# puts Node 24, the project's npm binaries and the built test bed tools first.
# Tools are cached outside the repository so that a fresh clone reuses them.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/tests/testbed/versions.sh"
export DATAMOVER_CACHE="${DATAMOVER_CACHE:-$HOME/.cache/kubectl-datamover}"
export DATAMOVER_TOOLS_CACHE="$DATAMOVER_CACHE/tools"
export DATAMOVER_NODE_DIR="$DATAMOVER_CACHE/node-v$NODE_VERSION"
export DATAMOVER_K8S_BIN="$DATAMOVER_TOOLS_CACHE/kubernetes-$K8S_VERSION/bin"
export DATAMOVER_ETCD_BIN="$DATAMOVER_TOOLS_CACHE/etcd-$ETCD_VERSION/bin"
export DATAMOVER_KWOK_BIN="$DATAMOVER_TOOLS_CACHE/kwok-patch$KWOK_PATCH_LEVEL-$KWOK_VERSION/bin"
export DATAMOVER_KWOK_STAGES="$DATAMOVER_TOOLS_CACHE/kwok-stages-$KWOK_VERSION"
export DATAMOVER_RCLONE_NEW="$DATAMOVER_TOOLS_CACHE/rclone-$RCLONE_VERSION/bin/rclone"
export DATAMOVER_KREW_BIN="$DATAMOVER_TOOLS_CACHE/krew-$KREW_VERSION/bin"

# Whether the system's Node runs the TypeScript sources (type stripping: 22.18 or newer); 1 or 0.
system_node_ok() {
  node -p 'const [a, b] = process.versions.node.split(".").map(Number); +(a > 22 || (a === 22 && b >= 18))' \
    2>/dev/null || echo 0
}
# Node 24 from the npm registry only when the system's Node is older than 22.
if [[ -x $DATAMOVER_NODE_DIR/bin/node ]] && (( $(system_node_ok) == 0 )); then
  PATH="$DATAMOVER_NODE_DIR/bin:$PATH"
fi
# kubectl (the built one) is what a user would have on PATH.
export PATH="$REPO_ROOT/bin:$REPO_ROOT/node_modules/.bin:$DATAMOVER_K8S_BIN:$PATH"
export DATAMOVER_PUSHGATEWAY="$DATAMOVER_TOOLS_CACHE/pushgateway-$PUSHGATEWAY_VERSION/bin/pushgateway"
export DATAMOVER_RCLONE_OLD="$DATAMOVER_TOOLS_CACHE/rclone-$RCLONE_OLD_VERSION/bin/rclone"
export DATAMOVER_PROM2JSON="$DATAMOVER_TOOLS_CACHE/prom2json-$PROM2JSON_VERSION/bin/prom2json"
export DATAMOVER_ACTIONLINT="$DATAMOVER_TOOLS_CACHE/actionlint-$ACTIONLINT_VERSION/bin/actionlint"
export DATAMOVER_SNAPSHOT_CONTROLLER="$DATAMOVER_TOOLS_CACHE/snapshot-controller-$EXTERNAL_SNAPSHOTTER_VERSION/bin"
DATAMOVER_SNAPSHOT_CONTROLLER+=/snapshot-controller
