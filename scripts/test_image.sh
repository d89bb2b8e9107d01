#!/usr/bin/env bash
# npm run test:image — the OCI image of the module (scripts/image.sh, `npm run image`) built by
# the Docker engine (Debian docker.io, installed if absent; a daemon started if none answers),
# then checked by tests/platform/image.test.ts: its `docker save` layout and digests, a rebuild
# without cache (same layer), and a push/pull round trip through a local registry — Debian's
# docker-registry (the CNCF distribution registry 2.8), started here on a free 127.0.0.1 port
# with its storage in a temporary folder, and stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/docker.sh
source scripts/lib/docker.sh
mkdir -p .test-logs

bash scripts/setup.sh
started=$(date +%s)
bash scripts/apt_ensure.sh docker-registry=docker-registry

work=$(mktemp -d)
registry_pid=""
cleanup() {
  local rc=$?
  if [ -n "$registry_pid" ]; then
    kill -TERM "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  [ -z "${SITIO_REGISTRY:-}" ] || docker rmi "$SITIO_REGISTRY/sitio:$version" >/dev/null 2>&1 || true
  docker rmi "$SITIO_REBUILT_IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work"
  docker_stop
  echo "test:image: $(($(date +%s) - started)) s"
  exit "$rc"
}
trap cleanup EXIT

docker_ensure test:image

version=$(node -p 'require("./package.json").version')
export SITIO_IMAGE="sitio:$version" SITIO_REBUILT_IMAGE="sitio-rebuild:test" SITIO_IMAGE_TAR="$work/image.tar"
bash scripts/image.sh
docker save "$SITIO_IMAGE" -o "$SITIO_IMAGE_TAR"
SITIO_IMAGE=$SITIO_REBUILT_IMAGE SITIO_IMAGE_BUILD_ARGS=--no-cache bash scripts/image.sh

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$work/registry.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $work/registry }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" >.test-logs/registry.log 2>&1 &
registry_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat .test-logs/registry.log >&2; echo "test:image: the registry did not listen on :$port" >&2; exit 1; }
echo "test:image: $(docker-registry --version) on 127.0.0.1:$port (log: .test-logs/registry.log)"
export SITIO_REGISTRY="127.0.0.1:$port"

npx vitest run --reporter verbose --config vitest.platform.config.ts tests/platform/image.test.ts
