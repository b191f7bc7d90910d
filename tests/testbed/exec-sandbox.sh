#!/bin/bash
# kwok's exec runs this before the command of every exec into a pod (the Exec's KWOK_EXEC_WRAPPER,
# see kwok-local-exec.patch): the command then runs as a container runtime would run it, in the
# container's sandbox (pod-sandbox.sh with the arguments the bed wrote for this container, in
# TESTBED_SANDBOX_ARGS, NUL-separated): as its user and groups, with its capabilities, its volumes
# at their mount paths (read-only ones read-only), in its workingDir.
# Its pid (the command keeps it through every exec below) and start time go into TESTBED_EXEC_PIDS, so
# that the bed kills the command when its pod is deleted, as a kubelet stopping the container does.
set -euo pipefail
mapfile -d '' args < "$TESTBED_SANDBOX_ARGS"
read -r -a stat < /proc/$$/stat
echo "$$ ${stat[21]}" > "$TESTBED_EXEC_PIDS/$$"
unset KWOK_EXEC_WRAPPER TESTBED_SANDBOX_ARGS TESTBED_EXEC_PIDS
exec /usr/bin/unshare --mount --propagation private -- /bin/bash "${0%/*}/pod-sandbox.sh" "${args[@]}" -- "$@"
