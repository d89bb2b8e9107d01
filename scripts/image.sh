#!/usr/bin/env bash
# npm run image — sitio as an OCI image for meshes (docs/mesh.md), built by the Docker engine
# from deploy/image/Dockerfile: FROM scratch, one layer holding plugin.wasm (build/sitio.wasm),
# the "compat" layout Istio's and Envoy Gateway's image fetchers read.
#
#   tag     sitio:<package.json version>, or $SITIO_IMAGE
#   labels  org.opencontainers.image.{title,description,licenses,version,revision},
#           module.wasm.image/variant=compat
#
# The build context is a temporary folder holding only plugin.wasm, its modification time
# fixed ($SOURCE_DATE_EPOCH, else 0), so the same wasm always gives the same layer digest.
# (The image digest also covers the labels and the build time, which the legacy builder records.)
# `npm run image` builds the wasm first; this script uses build/sitio.wasm as it is.
# SITIO_IMAGE_BUILD_ARGS adds `docker build` arguments (the image test rebuilds with --no-cache).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").version')
IMAGE=${SITIO_IMAGE:-sitio:$version}
[ -f build/sitio.wasm ] || { echo "image: no build/sitio.wasm; run npm run build (npm run image does)" >&2; exit 1; }
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp deploy/image/Dockerfile "$ctx/Dockerfile"
install -m 644 build/sitio.wasm "$ctx/plugin.wasm"
touch -d "@${SOURCE_DATE_EPOCH:-0}" "$ctx/plugin.wasm"

# The legacy builder, which every Docker engine has (BuildKit/buildx may be absent).
DOCKER_BUILDKIT=0 docker build --quiet ${SITIO_IMAGE_BUILD_ARGS:-} \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  -t "$IMAGE" "$ctx" >/dev/null
docker image inspect -f "image: $IMAGE {{.Id}}, {{len .RootFS.Layers}} layer {{index .RootFS.Layers 0}}, {{.Size}} bytes" "$IMAGE"
