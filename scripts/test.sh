#!/usr/bin/env bash
# Every test: type check, unit tests, then the end-to-end suite on the real
# test bed (scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== type check"; tsc --noEmit -p .
echo "== format and lint"; bash scripts/lint.sh
echo "== dependency audit"; bash scripts/audit.sh
echo "== unit tests"; mocha --config tests/unit/.mocharc.json
echo "== end-to-end tests"; bash scripts/e2e.sh
