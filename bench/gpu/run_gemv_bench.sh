#!/usr/bin/env bash
# On a GPU machine: the GEMV table of gemv_bench (arguments passed through) through the native
# WebGPU device (wgpu-native on Vulkan). CARRY: the folder made by build_gemv_bench.sh; .gl: the
# Vulkan loader and libglvnd debs (docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gemv-carry}
if ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then  # a bare machine: the loaders from .gl
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f $nv && -z ${VK_DRIVER_FILES:-} ]] && export VK_DRIVER_FILES=$nv
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
LD_LIBRARY_PATH=$carry/lib WEBACCEL_WGPU_LIB=$carry/lib/libwgpu_native.so "$carry/gemv_bench" "$@"
