#!/usr/bin/env bash
# Every test: type check, lint, audit, unit tests, then the end-to-end suite on the real
# test bed (scripts/e2e.sh). Each part says how long it took; the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
part() {
  local title=$1 start=$SECONDS
  shift
  echo "== $title"
  "$@"
  echo "== $title: $((SECONDS - start)) s"
}
part "type check" tsc --noEmit -p .
part "format and lint" bash scripts/lint.sh
part "dependency audit" bash scripts/audit.sh
part "unit tests" mocha --config tests/unit/.mocharc.json
part "end-to-end tests" bash scripts/e2e.sh
echo "== npm test: $SECONDS s"
