#!/usr/bin/env bash
# On a GPU machine: the GEMV table and decode steps with gemv.wgsl's grid capped at N workgroups
# (WEBACCEL_GPU_GEMV_GRID=N: each workgroup prepares x once and loops over row tiles, the next
# tile's first loads overlapping this tile's reduction) against one workgroup per tile (0).
# CARRY_GEMV: build_gemv_bench.sh's folder; CARRY_DECODE: pack_decode_bench.sh's; .gl as for
# run_gemv_bench.sh. Env: GRIDS, FORMATS, SHAPES, DECODE ("shape bits;..."; empty: none),
# PARTS (gemv, decode or both), TOKENS.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
grids=${GRIDS:-0 132 264 528 1056}
parts=${PARTS:-gemv decode}
carry_gemv=${CARRY_GEMV:-build/gemv-carry}
carry_decode=${CARRY_DECODE:-build/gpu-carry}
if [[ $parts == *gemv* ]]; then
  for g in $grids; do
    WEBACCEL_GPU_GEMV_GRID=$g CARRY=$carry_gemv bench/gpu/run_gemv_bench.sh --formats "${FORMATS:-WQ4_G32,WQ8_G32}" \
      --shapes "${SHAPES:-4096x4096,12288x4096,22016x4096,4096x11008,16384x16384}" > "$out/grid_$g.md"
    grep -E '^# copy|^\| WQ' "$out/grid_$g.md" | sed "s/^/grid $g /"
  done
  bench/gpu/gemv_side_by_side.py "$out" grid_ "grid {}:" $grids
fi
if [[ $parts == *decode* && -n ${DECODE-7b 4;smollm2 4} ]]; then
  source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry_decode"
  results=$out/grid_decode.jsonl
  : > "$results"
  IFS=';' read -ra runs <<<"${DECODE-7b 4;smollm2 4}"
  for g in $grids; do
    for run in "${runs[@]}"; do
      read -r shape bits <<<"$run"
      WEBACCEL_GPU_GEMV_GRID=$g "$carry_decode/webaccel-gpu-bench" gpu-bench --shape "$shape" --bits "$bits" \
        --tokens "${TOKENS:-24}" --copy-mib 256 2>/dev/null |
        python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); j["grid"]=sys.argv[1]; print(json.dumps(j))' "$g" >> "$results"
    done
  done
  python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"\nGPU: {rows[0]['adapter']} ({rows[0]['implementation']})")
print("| shape | format | grid | decode ms/token | tok/s | of limit | GPU alone ms |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in sorted(rows, key=lambda r: (r["shape"], r["format"], int(r["grid"]))):
    print(f"| {r['shape']} | {r['format']} | {r['grid']} | {r['decode_ms_median']:.2f} | {r['decode_tokens_per_s']:.1f} "
          f"| {100 * r['fraction_of_limit']:.0f}% | {r['decode_gpu_ms_median']:.2f} |")
PY
fi
