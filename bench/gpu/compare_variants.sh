#!/usr/bin/env bash
# On a GPU machine: the GEMV table for the committed kernels and for WGSL variants (diffs of
# src/gpu/wgsl in bench/gpu/variants/NAME.patch, applied to copies that replace the embedded kernels
# through WEBACCEL_WGSL_DIR) in one process each, then GB/s side by side. CARRY: build_gemv_bench.sh's folder; .gl as for
# run_gemv_bench.sh. Env: VARIANTS (folder names), FORMATS, SHAPES.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
formats=${FORMATS:-WQ2_G32,WQ3_G32,WQ4_G32,WQ8_G32}
shapes=${SHAPES:-4096x4096,12288x4096,4096x11008,16384x16384}
variants=${VARIANTS:?set VARIANTS to names of bench/gpu/variants/*.patch}
for v in committed $variants; do
  dir=""
  if [[ $v != committed ]]; then
    dir=/tmp/webaccel-wgsl-$v && rm -rf "$dir"
    python3 bench/gpu/apply_wgsl_patch.py "bench/gpu/variants/$v.patch" src/gpu/wgsl "$dir"
  fi
  WEBACCEL_WGSL_DIR=$dir bench/gpu/run_gemv_bench.sh --formats "$formats" --shapes "$shapes" > "$out/variant_$v.md"
  grep -E '^# copy|^\| WQ|^\| Q|^\| F' "$out/variant_$v.md" | sed "s/^/$v /"
done
bench/gpu/gemv_side_by_side.py "$out" variant_ "{}" committed $variants
