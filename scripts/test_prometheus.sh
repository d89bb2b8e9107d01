#!/usr/bin/env bash
# npm run test:prometheus — sitio through a real Prometheus (Debian's `prometheus`
# package, installed if absent): tests/platform/prometheus.test.ts starts the native
# Envoy and Prometheus on free ports, so it runs beside anything else.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/apt_ensure.sh prometheus=prometheus promtool=prometheus
npx vitest run --reporter verbose --config vitest.platform.config.ts tests/platform/prometheus.test.ts
