#!/usr/bin/env bash
# Installs what silica needs to build and test on Debian 12 (run as root or with sudo), then
# the pinned test peers (tests/peers, lockfile) and a clone of llama.cpp's test data.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

packages=(build-essential cmake ninja-build ccache pkg-config git
  nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev
  chromium)  # chromium: the web UI's browser tests (tests/ui, driven by playwright-core)
if [ "${SILICA_SETUP_CROSS:-1}" = 1 ]; then packages+=(g++-aarch64-linux-gnu qemu-user); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# node >= 20 is needed by node-llama-cpp; Debian 12's own nodejs is 18.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: node >= 20 is required for the test peers (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
# The web UI's pinned npm packages: the build bundles webui/ with them (without them the binary's
# /ui/ only says how to build the UI). Reinstalled only when the lockfile changed.
npm_ci_if_stale() {
  if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci_if_stale webui
if [ "${1:-}" = "--peers" ]; then
  npm_ci_if_stale tests/ui
  # npm ci refuses this lockfile (node-llama-cpp lists optional platform builds that are not
  # published for every platform); npm install with the committed lockfile installs the same pins.
  (cd tests/peers && npm install --omit=optional --no-audit --no-fund --loglevel=error)
  if [ ! -d .cache/llama-src/models ]; then
    rm -rf .cache/llama-src
    mkdir -p .cache
    git clone -q tests/peers/node_modules/node-llama-cpp/llama/gitRelease.bundle .cache/llama-src 2>/dev/null
  fi
fi
