#!/usr/bin/env bash
# On a GPU machine, issue 5's performance figures in one command: the GEMV table (2/3/4/8 bits,
# 4096^2 to 16384^2, against the copy kernel of the same process) and the decode / first-inference
# table (7B and SmolLM2 shapes). Carry .gl, build/gemv-carry and build/gpu-carry (made here by
# bench/gpu/build_gemv_bench.sh and bench/gpu/pack_decode_bench.sh; docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
bench/gpu/run_gemv_bench.sh --formats "${FORMATS:-WQ2_G32,WQ3_G32,WQ4_G32,WQ8_G32}" \
  --shapes "${SHAPES:-4096x4096,8192x8192,16384x16384,14336x4096,4096x14336}"
BITS_SWEEP="${BITS_SWEEP-2 3 8}" bench/gpu/run_decode_bench.sh | grep -v '^{'
