#!/usr/bin/env bash
# On a GPU machine: where a decode step's GPU time goes. WEBACCEL_GPU_PROFILE=2 (default here):
# a timestamp after every dispatch inside the passes the step really uses, each dispatch charged the
# time since the previous one (barriers and gaps included), per family and workgroup count; =1:
# each dispatch in a pass of its own (GPU time alone, but the step no longer runs as it does).
# Then the GEMV bench on the 7B step's own product shapes, for the same products run alone.
# CARRY: the folder made by pack_decode_bench.sh; GEMV_CARRY: build_gemv_bench.sh's; .gl as for
# run_decode_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gpu-carry}
source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
mode=${MODE:-2}
IFS=';' read -ra runs <<<"${RUNS:---shape 7b --bits 4;--shape 7b --bits 8;--shape smollm2 --bits 4}"
for args in "${runs[@]}"; do
  echo "== WEBACCEL_GPU_PROFILE=$mode gpu-bench $args --prompt 1 --tokens 16"
  WEBACCEL_GPU_PROFILE=$mode "$carry/webaccel-gpu-bench" gpu-bench $args --prompt 1 --tokens 16 --copy-mib 64 2>&1 |
    grep -E 'profile|decode' | sort -t, -k2 -g -r
done
if [[ -n ${GEMV_SHAPES-12288x4096,4096x4096,22016x4096,4096x11008,32000x4096} ]]; then
  CARRY=${GEMV_CARRY:-build/gemv-carry} bench/gpu/run_gemv_bench.sh --formats "${GEMV_FORMATS:-WQ4_G32,WQ8_G32}" \
    --shapes "${GEMV_SHAPES:-12288x4096,4096x4096,22016x4096,4096x11008,32000x4096}"
fi
