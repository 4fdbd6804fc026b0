#!/usr/bin/env bash
# On a GPU machine, issue 5's performance figures in one command: the GEMV table (2/3/4/8 bits,
# 4096^2 to 16384^2, against the copy kernel of the same process), the decode / first-inference
# table (7B and SmolLM2 shapes), then, where python3 has PyTorch with CUDA, the CUDA peers on the
# same GPU (torch_peer.py: cuBLAS f16, int4 tinygemm and compiled int8 GEMVs; torch_decode_peer.py:
# the 7B step with PyTorch ops and with torch.compile, each as one CUDA graph). PEERS=0 skips them.
# Carry .gl, build/gemv-carry and build/gpu-carry (made here by bench/gpu/build_gemv_bench.sh and
# bench/gpu/pack_decode_bench.sh; docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
bench/gpu/run_gemv_bench.sh --formats "${FORMATS:-WQ2_G32,WQ3_G32,WQ4_G32,WQ8_G32}" \
  --shapes "${SHAPES:-4096x4096,8192x8192,16384x16384,14336x4096,4096x14336}"
BITS_SWEEP="${BITS_SWEEP-2 3 8}" bench/gpu/run_decode_bench.sh | grep -v '^{'
if [[ ${PEERS:-1} != 0 ]] && python3 -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  echo
  PYTHONUNBUFFERED=1 python3 bench/gpu/torch_peer.py --no-7b --shapes "${SHAPES:-4096x4096,8192x8192,16384x16384,14336x4096,4096x14336}"
  PYTHONUNBUFFERED=1 python3 bench/gpu/torch_decode_peer.py --compile
fi
