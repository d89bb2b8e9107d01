#!/usr/bin/env bash
# npm run test:compose — docker-compose.yml, run for real, as a user runs it on a fresh clone
# with nothing but Docker:
#   Docker (Debian docker.io + docker-compose, installed if absent; a daemon started with no
#   bridge network if none answers), local stand-ins for the images the compose file names
#   (scripts/docker_images.sh), a clean `git clone` of this repository in a temporary folder
#   (no build/, no node_modules/), `docker-compose up -d` there — its build service runs npm ci
#   and the wasm build in a container before Envoy and the Foo server start — then
#   tests/platform/compose.test.ts drives traffic through the fixed ports and asserts exact
#   sitio counts. `docker-compose down` always runs; a daemon this script started is stopped.
#
# Tracked files changed but not committed are copied over the clone (and listed), so a
# working tree can be tested before its commit; untracked files are not.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/docker.sh
source scripts/lib/docker.sh
mkdir -p .test-logs

bash scripts/setup.sh
started=$(date +%s)

clone=""
compose_up=""
cleanup() {
  local rc=$?
  if [ -n "$compose_up" ]; then
    [ "$rc" -eq 0 ] || (cd "$clone" && docker-compose logs --no-color --tail 40 >&2) || true
    (cd "$clone" && docker-compose down --timeout 5) || rc=1
  fi
  [ -z "$clone" ] || rm -rf "$(dirname "$clone")"
  docker_stop
  echo "test:compose: $(($(date +%s) - started)) s"
  exit "$rc"
}
trap cleanup EXIT

docker_ensure test:compose

images=$(bash scripts/docker_images.sh)
export ${images?}
echo "test:compose: stand-in images $images"

# The clean clone; the folder is named sitio, which makes `sitio` the compose project name.
clone="$(mktemp -d)/sitio"
git clone --quiet --no-local "$PWD" "$clone"
changed=$(git diff --name-only --diff-filter=d HEAD)
if [ -n "$changed" ]; then
  echo "test:compose: uncommitted changes copied into the clone:" $changed
  for f in $changed; do install -D -m "$(stat -c %a "$f")" "$f" "$clone/$f"; done
fi
no_build_outputs() {
  local d
  for d in build node_modules; do
    if [ -e "$clone/$d" ]; then echo "test:compose: the clone has $d/ $1" >&2; exit 1; fi
  done
}
no_build_outputs "before docker-compose up"

cd "$clone"
docker-compose config -q
docker-compose --profile grafana config -q
# Every image the default services name must be one of the stand-ins just built (the
# `grafana` profile's images have none: `docker-compose --profile grafana config -q` above
# and tests/deploy/compose_file.test.ts check that profile instead).
for image in $(docker-compose config | python3 -c '
import sys, yaml
for s in yaml.safe_load(sys.stdin)["services"].values():
    if not s.get("profiles"): print(s["image"])'); do
  case "$image" in
    "$ENVOY_IMAGE" | "$NODE_IMAGE") ;;
    *) echo "test:compose: docker-compose.yml names $image, which has no stand-in in scripts/docker_images.sh" >&2; exit 1 ;;
  esac
done

# The compose services bind the shipped ports on the host: they must be free.
for port in $(grep -o 'port_value: [0-9]*' envoy/envoy.yaml | awk '{print $2}' | sort -u) 8098; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "test:compose: port $port is already in use on this host; stop what listens there" >&2
    exit 1
  fi
done

compose_up=1
up_started=$(date +%s)
docker-compose up -d
echo "test:compose: docker-compose up -d (build service included) took $(($(date +%s) - up_started)) s"
docker-compose ps
no_build_outputs "after docker-compose up: the build service must write only to its volumes"
cd - >/dev/null

npx vitest run --reporter verbose --config vitest.platform.config.ts tests/platform/compose.test.ts
