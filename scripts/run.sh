#!/usr/bin/env bash
# Runs a command with the project's environment (Node 24, npm binaries, built tools).
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$@"
