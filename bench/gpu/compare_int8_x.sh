#!/usr/bin/env bash
# On a GPU machine: gemv.wgsl with x as int8 (dot4I8Packed, the default where the WGSL feature
# exists) against x as f32 (WEBACCEL_GPU_DOT4=0), same process kind, back to back: the GEMV table
# and decode of the 7B and SmolLM2 shapes. Carry .gl, build/gemv-carry and build/gpu-carry.
#   SHAPES=... FORMATS=... DECODE="7b:4 7b:8 smollm2:4" bench/gpu/compare_int8_x.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
formats=${FORMATS:-WQ2_G32,WQ3_G32,WQ4_G32,WQ8_G32}
shapes=${SHAPES:-4096x4096,16384x16384,22016x4096,4096x11008}
for x in i8 f32; do
  dot4=$([ "$x" = i8 ] && echo 1 || echo 0)
  echo "## GEMV, x as $x"
  WEBACCEL_GPU_DOT4=$dot4 bench/gpu/run_gemv_bench.sh --formats "$formats" --shapes "$shapes"
done
source bench/gpu/gpu_machine_env.sh && gpu_machine_env build/gpu-carry
echo "## Decode (shape:bits, x as i8 then f32)"
for sb in ${DECODE:-7b:4 7b:8 smollm2:4}; do
  for dot4 in 1 0; do
    echo -n "x $([ $dot4 = 1 ] && echo i8 || echo f32) "
    WEBACCEL_GPU_DOT4=$dot4 build/gpu-carry/webaccel-gpu-bench gpu-bench --shape "${sb%%:*}" --bits "${sb##*:}" --tokens 32
  done
done
