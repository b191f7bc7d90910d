#!/usr/bin/env bash
# The compiled JavaScript the npm package ships (dist/cmd, dist/lib): rebuilt from
# nothing, so that no file of a deleted source is packed. Run by npm's prepack.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/cmd dist/lib dist/package.json
tsc -p tsconfig.build.json
