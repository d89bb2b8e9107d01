#!/usr/bin/env bash
# The main job: Envoy with sitio on the shipped envoy/envoy.yaml (native binary),
# and beside it the Foo protocol server (:8098) behind the :18001 listener.
# Then: curl localhost:18000/   and   curl localhost:8001/stats/prometheus | grep sitio_
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY="${ENVOY_BIN:-$(echo .venv/lib/python3*/site-packages/envoy/_bin/envoy)}"
node_modules/.bin/tsx scripts/foo_server.ts --port 8098 &
FOO_SERVER=$!
# Not `exec`: the shell stays to stop the Foo server when Envoy ends (Ctrl-C included).
trap 'kill "$FOO_SERVER" 2>/dev/null || true' EXIT
echo "sitio: Envoy on :18000 (L4 HTTP), :18001 (L4 Foo), :18080 (L7 HTTP) and :18443 (TLS pass-through); admin and metrics on :8001 — Ctrl-C stops" >&2
"$ENVOY" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-warning}" "$@"
