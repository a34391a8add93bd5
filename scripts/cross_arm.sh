#!/usr/bin/env bash
# Cross-builds the base, tensor and kernels layers and test_kernels for Linux AArch64, then runs
# the tests under qemu-user: the NEON kernels are checked on every x86 build machine.
#   scripts/cross_arm.sh [build-dir]   (default: build-aarch64)
# Needs g++-aarch64-linux-gnu, qemu-user and googletest sources in /usr/src/googletest (Debian's
# googletest package); no aarch64 libraries are needed beyond libstdc++. fmt is used header-only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-aarch64}"
mkdir -p "$build/proj" "$build/fmt-include"
ln -sfn /usr/include/fmt "$build/fmt-include/fmt"

# A small project over the real layer folders: the top-level CMakeLists needs host-only packages
# (nlohmann-json, CLI11, PCRE2) that have no aarch64 builds installed.
cat > "$build/proj/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(silica_aarch64 LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
add_compile_options(-O2 -Wall -Wextra -Wno-unused-parameter)
include_directories($root/src)
find_package(Threads REQUIRED)
add_library(fmt_header_only INTERFACE)
target_include_directories(fmt_header_only SYSTEM INTERFACE $build/fmt-include)
target_compile_definitions(fmt_header_only INTERFACE FMT_HEADER_ONLY=1)
add_library(fmt::fmt ALIAS fmt_header_only)
include($root/cmake/silica_layer.cmake)
add_subdirectory($root/src/base base)
add_subdirectory($root/src/tensor tensor)
add_subdirectory($root/src/kernels kernels)
set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
add_subdirectory(/usr/src/googletest googletest EXCLUDE_FROM_ALL)
file(GLOB _tests CONFIGURE_DEPENDS $root/tests/unit/kernels/*.cc)
add_executable(test_kernels \${_tests})
target_link_libraries(test_kernels PRIVATE silica_kernels gtest gtest_main)
target_compile_definitions(test_kernels PRIVATE
  SILICA_TEST_DATA_DIR="$root/tests/data" SILICA_SOURCE_DIR="$root")
CMAKE

cmake -S "$build/proj" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake"
cmake --build "$build" -j2 --target test_kernels
# qemu's default CPU model ("max") has FEAT_DotProd; SILICA_ISA=scalar still tests the tables.
qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/test_kernels" "${@:2}"
# A core without FEAT_DotProd (Cortex-A57) takes the widening-multiply path of the int8 dots.
qemu-aarch64 -cpu cortex-a57 -L /usr/aarch64-linux-gnu "$build/test_kernels" \
  --gtest_filter='VecDot.*:FromFloat.*:ToFloat.*'
