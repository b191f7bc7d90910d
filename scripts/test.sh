#!/usr/bin/env bash
# Every test: type check, unit tests, then the end-to-end suite on the real
# test bed (which mocha's root hooks bring up and take down).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== type check"; tsc --noEmit -p .
echo "== format and lint"; bash scripts/lint.sh
echo "== dependency audit"; bash scripts/audit.sh
echo "== unit tests"; mocha --config tests/unit/.mocharc.json
echo "== end-to-end tests"; mocha --config tests/e2e/.mocharc.json
