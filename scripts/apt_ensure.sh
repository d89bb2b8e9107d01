#!/usr/bin/env bash
# Installs Debian packages whose command is missing: apt_ensure.sh COMMAND=PACKAGE ...
# (e.g. dockerd=docker.io). Needs root (or sudo) and apt-get; does nothing when every command exists.
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || [[ " ${missing[*]} " == *" ${pair#*=} "* ]] || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "apt-get install ${missing[*]}" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
