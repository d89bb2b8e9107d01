# Sourced by the Docker test scripts (test_compose.sh, test_image.sh): Debian's Docker,
# and a daemon when none answers.
#
#   docker_ensure NAME   installs docker.io and docker-compose if absent, and starts
#                        `dockerd --bridge=none --iptables=false --ip-masq=false` if no daemon
#                        answers (no docker0, no NAT rules: every container uses host networking);
#                        its log: .test-logs/dockerd.log. NAME prefixes the messages.
#   docker_stop          stops that daemon again (nothing if docker_ensure found one running).

docker_started_pid=""

docker_ensure() {
  local name=$1
  bash scripts/apt_ensure.sh dockerd=docker.io docker-compose=docker-compose
  docker info >/dev/null 2>&1 && return 0
  echo "$name: starting dockerd --bridge=none --iptables=false --ip-masq=false (log: .test-logs/dockerd.log)"
  mkdir -p .test-logs
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || cgroupfs-mount || true
  dockerd --bridge=none --iptables=false --ip-masq=false >.test-logs/dockerd.log 2>&1 &
  docker_started_pid=$!
  for _ in $(seq 300); do docker info >/dev/null 2>&1 && return 0; sleep 0.1; done
  tail -20 .test-logs/dockerd.log >&2
  echo "$name: dockerd did not answer in 30 s" >&2
  return 1
}

docker_stop() {
  [ -n "$docker_started_pid" ] || return 0
  echo "stopping the Docker daemon this script started (pid $docker_started_pid)"
  kill -TERM "$docker_started_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$docker_started_pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "dockerd did not exit in 10 s" >&2
}
