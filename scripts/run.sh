#!/usr/bin/env bash
# The main job: Envoy with sitio on the shipped envoy/envoy.yaml (native binary),
# and beside it the Foo protocol server (:8098) behind the :18001 listener and the
# example gRPC server (:8097) behind the :18080 listener.
# Then: curl localhost:18000/   and   curl localhost:8001/stats/prometheus | grep sitio_
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY="${ENVOY_BIN:-$(echo .venv/lib/python3*/site-packages/envoy/_bin/envoy)}"
node_modules/.bin/tsx scripts/foo_server.ts --port 8098 &
FOO_SERVER=$!
node_modules/.bin/tsx scripts/grpc_server.ts --port 8097 &
GRPC_SERVER=$!
# Not `exec`: the shell stays to stop both servers when Envoy ends (Ctrl-C included).
trap 'kill "$FOO_SERVER" "$GRPC_SERVER" 2>/dev/null || true' EXIT
echo "sitio: Envoy on :18000 (L4 HTTP), :18001 (L4 Foo), :18080 (L7 HTTP/1.1, h2c and gRPC) and :18443 (TLS pass-through); admin and metrics on :8001 — Ctrl-C stops" >&2
"$ENVOY" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-warning}" "$@"
