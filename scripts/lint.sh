#!/usr/bin/env bash
# Format and lint (Biome, biome.json), then the line width Biome's formatter
# cannot enforce on long strings: no line over 120 characters; then the GitHub
# workflows with actionlint (built by the setup from the Go module proxy; it runs
# shellcheck on their scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
biome ci --colors=off --error-on-warnings .
long=$(git ls-files -co --exclude-standard \
  'lib/*.ts' 'cmd/*.ts' 'tests/*.ts' 'scripts/*.ts' 'scripts/*.sh' 'bench/*.ts' \
  | xargs awk 'length > 120 { printf "%s:%d: %d characters\n", FILENAME, FNR, length }')
if [[ -n $long ]]; then
  printf 'lines over 120 characters:\n%s\n' "$long" >&2
  exit 1
fi
"$DATAMOVER_ACTIONLINT" -no-color -oneline .github/workflows/*.yml
