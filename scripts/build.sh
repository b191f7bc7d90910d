#!/usr/bin/env bash
# What the npm package ships: the plugin bundled into one file, dist/kubectl-datamover.cjs
# (scripts/bundle.ts), rebuilt from nothing. Run by npm's prepack.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/cmd dist/lib dist/package.json dist/kubectl-datamover.cjs
node scripts/bundle.ts dist/kubectl-datamover.cjs
