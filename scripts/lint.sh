#!/usr/bin/env bash
# npm run lint: formatting and lint rules (Biome, biome.jsonc), then import rules
# (dependency-cruiser, .dependency-cruiser.cjs: assembly/'s layering, no import cycles, tests
# never import scripts/). Both always run; the exit status is non-zero if either found anything.
# Needs the npm packages only, no build. `npm run format` rewrites what the first finds unformatted.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
status=0
colors=()
[ -t 1 ] || colors=(--colors=off) # plain text in CI logs and pipes

echo "lint: formatting and lint rules (biome.jsonc)"
if ! "$bin/biome" ci "${colors[@]}" --error-on-warnings --reporter=concise --max-diagnostics=none; then
  status=1
  echo "lint: \"format\" lines: run npm run format; other lines: fix the code, or see biome.jsonc"
fi

echo "lint: import rules (.dependency-cruiser.cjs)"
if ! "$bin/depcruise" assembly tests scripts; then
  status=1
fi

exit $status
