#!/usr/bin/env bash
# The one place that installs tokmux's build and test dependencies.
# Idempotent: installs only the Debian packages that are missing.
set -euo pipefail

pkgs=(
  build-essential pkg-config clang
  libncurses-dev libvterm-dev libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev
  libhiredis-dev libcmocka-dev
  libclang-rt-14-dev
  redis-server
  tmux python3 curl bc procps jq git
)
# `scripts/deps.sh --bench` also installs the peers the benchmarks compare against.
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(dvtm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
