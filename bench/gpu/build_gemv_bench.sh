#!/usr/bin/env bash
# Builds gemv_bench against the engine's GPU library and collects what a GPU machine needs to run
# it into build/gemv-carry (a folder the device tool carries): the binary, libhwy, wgpu-native.
#   BUILD=build/release bench/gpu/build_gemv_bench.sh    (a configured CMake build dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build/release}
nice cmake --build "$build" -j2 --target webaccel_gpu webaccel_core
out=build/gemv-carry
rm -rf "$out" && mkdir -p "$out/lib"
g++ -std=c++20 -O2 -Wall -Wextra -Isrc bench/gpu/gemv_bench.cpp "$build/libwebaccel_gpu.a" "$build/libwebaccel_core.a" \
  $(pkg-config --libs libhwy) -ldl -pthread -o "$out/gemv_bench"
cp build/deps/wgpu/lib/libwgpu_native.so "$out/lib/"
{ ldd "$out/gemv_bench" | awk '/=>/ {print $3}' | grep -E 'libhwy' || true; } | xargs -r -I{} cp {} "$out/lib/"  # when linked (--as-needed may drop it)
du -sh "$out"
