#!/usr/bin/env bash
# Collects what the GPU machine needs to run webaccel-gpu-bench into build/gpu-carry (a folder the
# device tool carries): the binary, libhwy and wgpu-native. Build first: cmake --build build/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/release/webaccel-gpu-bench}
out=build/gpu-carry
rm -rf "$out" && mkdir -p "$out/lib"
cp "$bin" "$out/"
cp build/deps/wgpu/lib/libwgpu_native.so "$out/lib/"
# Every shared library the binary needs that a stock Ubuntu image may lack (glibc and libstdc++ are there).
ldd "$bin" | awk '/=>/ {print $3}' | grep -E 'libhwy' | xargs -r -I{} cp {} "$out/lib/"
du -sh "$out"
