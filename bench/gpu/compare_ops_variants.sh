#!/usr/bin/env bash
# On a GPU machine: the non-matmul ops' µs per call (bench/gpu_ops) for the committed kernels and
# for WGSL variants (bench/gpu/variants/NAME.patch through WEBACCEL_WGSL_DIR, as compare_variants.sh),
# side by side; then gpu-bench's 7B 4-bit decode step ROUNDS times (2) for each name in DECODE (committed or variants).
# CARRY: build/gpu-ops-carry (bench/gpu_ops/run.sh pack); DECODE_CARRY: build/gpu-carry; .gl.
# Env: VARIANTS (names; `tree`: src/gpu/wgsl as carried, the committed ones being the binary's), OPS (an extended regex of op names; default: everything), REPS.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
mkdir -p "$out"
variants=${VARIANTS:?set VARIANTS to names of bench/gpu/variants/*.patch}
for v in committed $variants; do
  dir=""
  if [[ $v == tree ]]; then  # the carried tree's src/gpu/wgsl (edited after the binary was built)
    dir=$PWD/src/gpu/wgsl
  elif [[ $v != committed ]]; then
    dir=/tmp/webaccel-wgsl-$v && rm -rf "$dir"
    python3 bench/gpu/apply_wgsl_patch.py "bench/gpu/variants/$v.patch" src/gpu/wgsl "$dir"
  fi
  WEBACCEL_WGSL_DIR=$dir bench/gpu_ops/run.sh "${REPS:-200}" > "$out/ops_$v.md"
done
python3 - "$out" "${OPS:-.}" committed $variants <<'PY'
import re, sys
out, ops, names = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = {}
for n in names:
    for line in open(f"{out}/ops_{n}.md"):
        c = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(c) == 4 and re.search(ops, c[2]) and re.fullmatch(r"[\d.]+", c[3]):
            rows.setdefault(tuple(c[:3]), {})[n] = float(c[3])
print("| shape | tokens | op | " + " | ".join(f"{n} µs" for n in names) + " |")
print("|---|---:|---|" + "---:|" * len(names))
for k, r in rows.items():
    print(f"| {' | '.join(k)} | " + " | ".join(f"{r[n]:.1f}" if n in r else "" for n in names) + " |")
PY
if [[ -n ${DECODE:-} ]]; then
  carry=${DECODE_CARRY:-build/gpu-carry}
  source bench/gpu/gpu_machine_env.sh && gpu_machine_env "$carry"
  for round in $(seq "${ROUNDS:-2}"); do
    for v in $DECODE; do
      dir=""; [[ $v != committed ]] && dir=/tmp/webaccel-wgsl-$v; [[ $v == tree ]] && dir=$PWD/src/gpu/wgsl
      WEBACCEL_WGSL_DIR=$dir "$carry/webaccel-gpu-bench" gpu-bench --shape 7b --bits 4 --tokens 32 2>&1 |
        grep -o 'decode [0-9.]* ms/token.*GPU alone' | sed "s/^/round $round $v: /"
    done
  done
fi
