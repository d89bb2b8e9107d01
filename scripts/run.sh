#!/usr/bin/env bash
# The main job: Envoy with sitio on the shipped envoy/envoy.yaml (native binary).
# Then: curl localhost:18000/   and   curl localhost:8001/stats/prometheus | grep sitio_
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY="${ENVOY_BIN:-$(echo .venv/lib/python3*/site-packages/envoy/_bin/envoy)}"
echo "sitio: Envoy on :18000 (L4), admin and metrics on :8001 — Ctrl-C stops" >&2
exec "$ENVOY" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-warning}" "$@"
