#!/usr/bin/env bash
# On a GPU machine, in one call: the GEMV table of the decode's shapes with the same-bytes copy
# chain beside each row, where a decode step's time goes (decode_shares.sh) and one-token attention
# split vs unsplit at two context lengths (compare_attention_split.sh). Each part's table goes to
# $OUT/<part>.md as it finishes. Carry .gl, build/gemv-carry and build/gpu-carry.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
{ date -u; bench/gpu/run_gemv_bench.sh --formats "${FORMATS:-WQ4_G32,WQ8_G32}" \
    --shapes "${SHAPES:-4096x4096,12288x4096,22016x4096,4096x11008,16384x16384}"; } > "$out/gemv.md" 2>&1
{ date -u; RUNS="${RUNS:-7b 4 -;7b 4 attention_decode,attention_combine;7b 4 gemv;smollm2 4 -;smollm2 4 attention_decode,attention_combine}" \
    bench/gpu/decode_shares.sh; } > "$out/shares.md" 2>&1
{ date -u; SHAPES="7b:4" CONTEXTS="${CONTEXTS:-40 1000}" bench/gpu/compare_attention_split.sh; date -u; } > "$out/attention_split.md" 2>&1
