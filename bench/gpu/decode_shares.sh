#!/usr/bin/env bash
# On a GPU machine: what each part of a decode step costs as the step really runs. gpu-bench runs
# the whole step, then again with one set of pipeline families dropped (WEBACCEL_GPU_SKIP: their
# dispatches are not recorded; the output is garbage, the timing is what is wanted); the difference
# in GPU time per step is the dropped part's share. Attention's families: attention (prompts),
# attention_decode (one token, RoPE and the cache store fused in), attention_combine (its split
# keys). CARRY: pack_decode_bench.sh's folder; .gl as for run_decode_bench.sh. RUNS: "shape bits
# skip-list" entries separated by ';' ("-": nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gpu-carry}
source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
results=${OUT:-/tmp}/decode_shares.jsonl
: > "$results"
IFS=';' read -ra runs <<<"${RUNS:-7b 4 -;7b 4 attention,attention_decode,attention_combine,rope_kv;7b 4 gemv;7b 8 -;smollm2 4 -;smollm2 4 attention,attention_decode,attention_combine,rope_kv;smollm2 4 gemv}"
for run in "${runs[@]}"; do
  read -r shape bits skip <<<"$run"
  [[ $skip == - ]] && skip=""
  WEBACCEL_GPU_SKIP=$skip "$carry/webaccel-gpu-bench" gpu-bench --shape "$shape" --bits "$bits" --tokens "${TOKENS:-24}" \
    --copy-mib "${COPY_MIB:-256}" 2>/dev/null | python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); j["skipped"]=sys.argv[1]; print(json.dumps(j))' "${skip:--}" >> "$results"
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"GPU: {rows[0]['adapter']} ({rows[0]['implementation']})")
print("| shape | format | dropped | decode ms/token | GPU alone ms | recording ms | dropped part's share ms (GPU alone) | steps (ms) |")
print("|---|---|---|---:|---:|---:|---:|---|")
full = {}
for r in rows:
    key = (r["shape"], r["format"])
    if r["skipped"] == "-": full[key] = r["decode_gpu_ms_median"]
    share = f"{full[key] - r['decode_gpu_ms_median']:.2f}" if r["skipped"] != "-" and key in full else ""
    steps = " ".join(f"{x:.1f}" for x in r["decode_step_ms"][:12])
    print(f"| {r['shape']} | {r['format']} | {r['skipped']} | {r['decode_ms_median']:.2f} | {r['decode_gpu_ms_median']:.2f} "
          f"| {r['decode_record_ms_median']:.2f} | {share} | {steps} |")
PY
