#!/usr/bin/env bash
# npm run test:compose — docker-compose.yml, run for real:
#   Docker (Debian docker.io + docker-compose, installed if absent; a daemon
#   started with no bridge network if none answers), local stand-ins for the
#   images the compose file names (scripts/docker_images.sh), `docker-compose up -d`,
#   then tests/platform/compose.test.ts drives traffic through the fixed ports and
#   asserts exact sitio counts. `docker-compose down` always runs; a daemon this
#   script started is stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-logs

bash scripts/setup.sh
bash scripts/apt_ensure.sh dockerd=docker.io docker-compose=docker-compose

started_pid=""
stop_daemon() {
  [ -n "$started_pid" ] || return 0
  echo "test:compose: stopping the Docker daemon it started (pid $started_pid)"
  kill -TERM "$started_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$started_pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "test:compose: dockerd did not exit in 10 s" >&2
}
compose_up=""
cleanup() {
  local rc=$?
  if [ -n "$compose_up" ]; then
    [ "$rc" -eq 0 ] || docker-compose logs --no-color --tail 40 >&2 || true
    docker-compose down --timeout 5 || rc=1
  fi
  stop_daemon
  exit "$rc"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  # No docker0 bridge and no NAT rules: every service uses host networking.
  echo "test:compose: starting dockerd --bridge=none --iptables=false --ip-masq=false (log: .test-logs/dockerd.log)"
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || cgroupfs-mount || true
  dockerd --bridge=none --iptables=false --ip-masq=false >.test-logs/dockerd.log 2>&1 &
  started_pid=$!
  for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { tail -20 .test-logs/dockerd.log >&2; echo "test:compose: dockerd did not answer in 30 s" >&2; exit 1; }
fi

images=$(bash scripts/docker_images.sh)
export ${images?}
echo "test:compose: stand-in images $images"
# Every image the compose file names must be one of the stand-ins just built.
for image in $(docker-compose config | awk '$1 == "image:" {print $2}'); do
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
docker-compose up -d
npx vitest run --reporter verbose --config vitest.platform.config.ts tests/platform/compose.test.ts
