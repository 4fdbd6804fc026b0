#!/usr/bin/env bash
# On a GPU machine: the GEMV table of gemv_bench (arguments passed through) through the native
# WebGPU device (wgpu-native on Vulkan). CARRY: the folder made by build_gemv_bench.sh; .gl: the
# Vulkan loader and libglvnd debs (docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gemv-carry}
source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$carry/gemv_bench" "$@"
