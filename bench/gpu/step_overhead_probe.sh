#!/usr/bin/env bash
# On a GPU machine, in one call: how much of a 7B decode step is neither products nor attention.
# decode_shares.sh drops families in turn down to an empty step (only the logits' copy and read
# back), once with the tuned submit cadence and once with one submit per step; then the step's 128
# products alone in a chain (gemv_bench --chain) and a tiling sweep of the 4-bit shapes with
# 4096-column rows. Each part's table goes to $OUT/<part>.md. Carry .gl, build/gemv-carry and
# build/gpu-carry.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
drop_all="gemv,attention_decode,attention_combine,embed"
runs="7b 4 -;7b 4 gemv;7b 4 attention_decode,attention_combine;7b 4 gemv,attention_decode,attention_combine;7b 4 $drop_all"
{ date -u; RUNS="$runs" bench/gpu/decode_shares.sh; } > "$out/shares_tuned.md" 2>&1
{ date -u; WEBACCEL_GPU_SUBMIT_LAYERS=0 RUNS="$runs" bench/gpu/decode_shares.sh; } > "$out/shares_one_submit.md" 2>&1
{ date -u; bench/gpu/run_gemv_bench.sh --formats WQ4_G32 --chain 32:copy; } > "$out/chain.md" 2>&1
{ date -u; bench/gpu/run_gemv_bench.sh --tune --tune-grid "${GRID:-1:1:1,1:2:1,1:2:2,2:1:1,2:2:1,4:1:1,4:2:1,4:2:2,1:4:1,4:4:1}" \
    --formats WQ4_G32 --shapes "${SHAPES:-4096x4096,12288x4096,22016x4096,4096x11008}"; date -u; } > "$out/tune.md" 2>&1
