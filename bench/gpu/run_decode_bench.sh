#!/usr/bin/env bash
# On a GPU machine: decode speed of llama-shaped models (random weights, real shapes) through the
# native WebGPU device (wgpu-native on Vulkan), against the bandwidth limit measured by the copy
# kernel in the same process, and first inference with precompiled vs lazily created pipelines.
# Prints one JSON line per run and a markdown table. CARRY: the folder made by pack_decode_bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${CARRY:-build/gpu-carry}
source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
export __GL_SHADER_DISK_CACHE=0  # lazy compilation must really compile, not hit a driver cache
bin=$carry/webaccel-gpu-bench
results=${OUT:-/tmp}/decode_bench.jsonl
: > "$results"
run() { "$bin" gpu-bench "$@" | tee -a "$results"; }
for shape in 7b smollm2; do
  run --shape "$shape" --bits 4 --tokens 64 --lazy-pipelines
  run --shape "$shape" --bits 4 --tokens 64
done
for bits in ${BITS_SWEEP-2 3 8}; do run --shape 7b --bits "$bits" --tokens 32; done  # BITS_SWEEP= skips it
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r0 = rows[0]
print(f"\nGPU: {r0['adapter']} ({r0['backend']}, {r0['implementation']}); copy kernel {r0['copy_gb_s']:.0f} GB/s")
print("| shape | format | pipelines | first inference ms | decode ms/token | decode tok/s | limit tok/s | of limit | MB/token | submit every (layers) | GPU alone ms |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['shape']} | {r['format']} | {r['pipelines']} | {r['first_inference_ms']:.1f} | {r['decode_ms_median']:.2f} "
          f"| {r['decode_tokens_per_s']:.1f} | {r['limit_tokens_per_s']:.1f} | {100 * r['fraction_of_limit']:.0f}% "
          f"| {r['bytes_per_token'] / 1e6:.1f} | {r.get('submit_every_layers', '')} | {r['decode_gpu_ms_median']:.2f} |")
for shape in ("7b", "smollm2"):
    lazy = [r for r in rows if r["shape"] == shape and r["pipelines"] == "lazy"]
    pre = [r for r in rows if r["shape"] == shape and r["pipelines"] == "precompiled" and r["format"] == lazy[0]["format"]] if lazy else []
    if lazy and pre:
        a, b = lazy[0]["first_inference_ms"], pre[0]["first_inference_ms"]
        print(f"{shape}: first inference {b:.1f} ms precompiled vs {a:.1f} ms lazy: {100 * (1 - b / a):.0f}% faster")
PY
