#!/usr/bin/env bash
# The end-to-end suite: its files side by side on one test bed (tests/e2e/.mocharc.cjs) and, at the
# same time, the faults that stop a bed's servers on a second bed of their own (tests/faults/.mocharc.cjs:
# they stop its API and S3 servers, so no other test may use that bed).
# A bed that is already up (npm run testbed -- up) is used and left running; otherwise one is brought
# up here and taken down at the end, whatever happens. The outages' bed is brought up and down by its run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! node tests/testbed/cli.ts status 2>/dev/null; then
  node tests/testbed/cli.ts up
  trap 'node tests/testbed/cli.ts down' EXIT
fi
main_bed=${DATAMOVER_TESTBED_DIR:-$PWD/.testbed}
outages_log=$(mktemp)
DATAMOVER_TESTBED_DIR="$main_bed-outages" mocha --config tests/faults/.mocharc.cjs >"$outages_log" 2>&1 &
outages=$!
# Every part runs, whatever the others say: a red run names every failure.
status=0
mocha --config tests/e2e/.mocharc.cjs || status=$?
wait "$outages" || status=$?
echo "== outages of the bed (on a bed of their own, run alongside the files above)"
cat "$outages_log"
rm -f "$outages_log"
exit "$status"
