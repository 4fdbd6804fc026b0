#!/usr/bin/env bash
# The non-matmul GPU ops' time per call (gpu_ops_bench.cpp) on a GPU machine through the device tool.
#   here:  bench/gpu_ops/run.sh pack      builds it, then gathers into build/gpu-ops-carry the binary,
#                                         libhwy, wgpu-native and the Vulkan loader with glvnd (.debs)
#   there: bench/gpu_ops/run.sh           (carry build/gpu-ops-carry) prints the markdown table
# libvulkan1 alone is not enough for NVIDIA's ICD (libGLX_nvidia.so.0): without glvnd's libraries
# the loader finds "no drivers" (docs/gpu.md, GPU tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=build/gpu-ops-carry
if [[ "${1:-}" == "pack" ]]; then
  build=${BUILD:-build/release}
  cmake --build "$build" --target webaccel-gpu-ops-bench
  rm -rf "$carry" && mkdir -p "$carry/lib" "$carry/debs"
  cp "$build/webaccel-gpu-ops-bench" "$carry/"
  cp build/deps/wgpu/lib/libwgpu_native.so "$carry/lib/"
  ldd "$carry/webaccel-gpu-ops-bench" | awk '/libhwy/ {print $3}' | xargs -r -I{} cp {} "$carry/lib/"
  (cd "$carry/debs" && apt-get download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
  du -sh "$carry"
  exit 0
fi
if ! ldconfig -p | grep -q libGLdispatch; then
  for f in "$carry"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f $nvidia_icd && -z ${VK_DRIVER_FILES:-} ]] && export VK_DRIVER_FILES=$nvidia_icd
export LD_LIBRARY_PATH=$PWD/$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export WEBACCEL_WGPU_LIB=$PWD/$carry/lib/libwgpu_native.so
"$carry/webaccel-gpu-ops-bench" "${1:-100}" 2> >(grep -v XDG_RUNTIME_DIR >&2)
