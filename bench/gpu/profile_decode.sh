#!/usr/bin/env bash
# On a GPU machine: where a decode step's GPU time goes, per pipeline family (timestamp queries
# around every dispatch: WEBACCEL_GPU_PROFILE=1), for the 7B shape at 4 and 8 bits and SmolLM2's.
# CARRY: the folder made by pack_decode_bench.sh; .gl as for run_decode_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gpu-carry}
if ! ldconfig -p | grep -q 'libGLX.so.0'; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f $nv && -z ${VK_DRIVER_FILES:-} ]] && export VK_DRIVER_FILES=$nv
export LD_LIBRARY_PATH=$carry/lib WEBACCEL_WGPU_LIB=$carry/lib/libwgpu_native.so
for args in "--shape 7b --bits 4" "--shape 7b --bits 8" "--shape smollm2 --bits 4"; do
  echo "== gpu-bench $args --prompt 1 --tokens 16"
  WEBACCEL_GPU_PROFILE=1 "$carry/webaccel-gpu-bench" gpu-bench $args --prompt 1 --tokens 16 --copy-mib 64 2>&1 | grep profile
done
