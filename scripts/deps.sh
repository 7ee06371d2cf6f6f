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
  vttest bsdutils ncurses-bin iproute2 util-linux
)
# `scripts/deps.sh --bench` also installs the peers the benchmarks compare against.
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(dvtm nginx-light)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Optional: promtool (Debian's prometheus package) checks /metrics in
# tests/integration/metrics.sh, and prometheus scrapes it there with the
# metrics token; the test skips those checks without them.
optional=(prometheus)
want_optional=()
for p in "${optional[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    want_optional+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ ${#want_optional[@]} -eq 0 ]; then
  echo "deps: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#want_optional[@]} -gt 0 ]; then
  echo "deps: installing ${want_optional[*]} (optional)"
  $SUDO apt-get install -y -qq --no-install-recommends "${want_optional[@]}" ||
    echo "deps: ${want_optional[*]} could not be installed; the tests that need it skip"
fi
