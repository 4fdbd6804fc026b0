#!/usr/bin/env bash
# On a GPU machine: decode with one-token attention's keys split over workgroups (the default,
# docs/gpu.md "Decode attention") against other limits and unsplit (WEBACCEL_GPU_ATTN_SPLIT=0), at
# several context lengths (the prompt before the timed steps), back to back in one session. Prints
# gpu-bench's ms per token and GPU-alone ms per step. Carry .gl and build/gpu-carry.
#   SHAPES="7b:4 smollm2:4" CONTEXTS="40 500 2000" SPLITS="16:128 0 32:64" bench/gpu/compare_attention_split.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gpu-carry}
source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
tokens=${TOKENS:-24}
echo "| shape | bits | context | WEBACCEL_GPU_ATTN_SPLIT | decode ms/token | GPU alone ms |"
echo "|---|---|---:|---|---:|---:|"
for sb in ${SHAPES:-7b:4 smollm2:4}; do
  for context in ${CONTEXTS:-40 500 2000}; do
    for split in ${SPLITS:-16:128 0}; do
      WEBACCEL_GPU_ATTN_SPLIT=$split "$carry/webaccel-gpu-bench" gpu-bench --shape "${sb%%:*}" --bits "${sb##*:}" \
        --prompt "$context" --tokens "$tokens" --ctx $((context + tokens + 16)) --copy-mib "${COPY_MIB:-256}" 2>/dev/null |
        python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); b,c,x=sys.argv[1:]
s,d,g=j["shape"],j["decode_ms_median"],j["decode_gpu_ms_median"]; print(f"| {s} | {b} | {c} | {x} | {d:.3f} | {g:.3f} |")' \
        "${sb##*:}" "$context" "$split"
    done
  done
done
