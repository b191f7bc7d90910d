#!/usr/bin/env bash
# The end-to-end suite on one test bed: its files side by side (tests/e2e/.mocharc.cjs),
# then the faults that stop the bed's servers, alone (tests/faults/.mocharc.cjs).
# A bed that is already up (npm run testbed -- up) is used and left running; otherwise
# one is brought up here and taken down at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! node tests/testbed/cli.ts status 2>/dev/null; then
  node tests/testbed/cli.ts up
  trap 'node tests/testbed/cli.ts down' EXIT
fi
# Both parts run, whatever the first one says: a red run names every failure.
status=0
mocha --config tests/e2e/.mocharc.cjs || status=$?
echo "== outages of the bed (alone)"
mocha --config tests/faults/.mocharc.cjs || status=$?
exit "$status"
