#!/bin/bash
# What a container runtime does for one container of a pod, run by the job-runner
# inside `unshare --mount --propagation private` (so nothing here is seen outside):
# the host's / as the image (an overlay on a tmpfs, so the host is never written),
# the image's files and the pod's volumes mounted into it, then the command run
# there as the container's user. The environment this script gets is the container's.
#
# pod-sandbox.sh SCRATCH UID GID GROUPS READONLY_ROOT WORKDIR [OPTION]... -- CMD...
#   OPTION: --copy SRC=DEST, --mount SRC=DEST:rw|ro, --setpriv ARG, --loopback up
#   SCRATCH: an empty folder to mount the tmpfs on; GROUPS: supplementary gids, comma-separated, or "";
#   --copy: a file put into the image (as its Dockerfile's COPY + chmod +x does); --mount: a bind mount;
#   --setpriv: one more setpriv argument (--no-new-privs, --inh-caps=-all, --bounding-set=-all, ...);
#   --loopback up: in a network namespace of its own (unshare --net), the pod's loopback is brought up.
set -euo pipefail
container_path=$PATH
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

scratch=$1 uid=$2 gid=$3 groups=$4 readonly_root=$5 workdir=$6
shift 6
mount -t tmpfs -o mode=0755 pod-sandbox "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
root=$scratch/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$root"

setpriv_args=()
bind() { # bind SRC DEST rw|ro; DEST's symlinks resolved inside the image, as a runtime does
  local dest
  dest=$root$(chroot "$root" realpath -m "$2")
  if [[ -d $1 ]]; then mkdir -p "$dest"; else mkdir -p "$(dirname "$dest")" && touch "$dest"; fi
  mount --bind "$1" "$dest"
  if [[ $3 == ro ]]; then mount -o remount,bind,ro "$dest"; fi
}
while [[ $# -gt 0 && $1 != -- ]]; do
  case $1 in
    --copy) src=${2%%=*} dest=$root$(chroot "$root" realpath -m "${2#*=}")
      mkdir -p "$(dirname "$dest")" && cp "$src" "$dest" && chmod 755 "$dest" ;;
    --setpriv) setpriv_args+=("$2") ;;
    --loopback) ip link set lo "$2" ;;
    --mount) spec=${2#*=} src=${2%%=*}; bind "$src" "${spec%:*}" "${spec##*:}" ;;
    *) echo "pod-sandbox: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
shift # --
for fs in /dev /proc /sys; do mount --rbind "$fs" "$root$fs"; done
if [[ $readonly_root == true ]]; then mount -o remount,bind,ro "$root"; fi

if [[ -n $groups ]]; then group_args=(--groups "$groups"); else group_args=(--clear-groups); fi
PATH=$container_path exec /usr/sbin/chroot "$root" /usr/bin/env --chdir="$workdir" /usr/bin/setpriv \
  --reuid="$uid" --regid="$gid" "${group_args[@]}" "${setpriv_args[@]}" -- "$@"
