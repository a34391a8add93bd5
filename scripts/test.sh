#!/usr/bin/env bash
# Installs, builds and runs every test: unit tests (gtest via ctest), the same suite under
# AddressSanitizer + UBSan, the ARM NEON kernels under qemu, and the peer tests against
# llama.cpp (node's test runner).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh --peers
export SILICA_LLAMA_SRC="$root/.cache/llama-src"
export SILICA_REQUIRE_PEERS=1
export SILICA_PEERS_LIB_DIR="$root/tests/peers/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

echo "== build (Release)"
scripts/build.sh
echo "== unit tests"
(cd build && ctest --output-on-failure -j2 --timeout 900)

echo "== unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSILICA_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j2 --timeout 1800)

if [ -x scripts/cross_arm.sh ] && command -v qemu-aarch64 >/dev/null; then
  echo "== ARM NEON kernels (aarch64 cross build under qemu)"
  scripts/cross_arm.sh
fi

export SILICA_BIN="$root/build/src/cli/silica"
export MAKE_TEST_MODEL="$root/build/tools/make_test_model"
echo "== CLI tests (chat through a pseudo-terminal)"
node --test --test-concurrency=1 tests/cli/
echo "== web UI in a real browser (chromium via playwright-core; screenshots to docs/screenshots)"
node --test --test-concurrency=1 tests/ui/
echo "== peer tests against llama.cpp and the reference libraries"
(cd tests/peers && node --test --test-concurrency=1 ./*.test.mjs)
