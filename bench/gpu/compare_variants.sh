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
for v in committed ${VARIANTS:-scales_early prefetch}; do
  dir=""
  if [[ $v != committed ]]; then
    dir=/tmp/webaccel-wgsl-$v && rm -rf "$dir"
    python3 bench/gpu/apply_wgsl_patch.py "bench/gpu/variants/$v.patch" src/gpu/wgsl "$dir"
  fi
  WEBACCEL_WGSL_DIR=$dir bench/gpu/run_gemv_bench.sh --formats "$formats" --shapes "$shapes" > "$out/variant_$v.md"
  grep -E '^# copy|^\| WQ|^\| Q|^\| F' "$out/variant_$v.md" | sed "s/^/$v /"
done
python3 - "$out" committed ${VARIANTS:-scales_early prefetch} <<'PY'
import re, sys
out, names = sys.argv[1], sys.argv[2:]
table, copy = {}, {}
for n in names:
    for line in open(f"{out}/variant_{n}.md"):
        if line.startswith("# copy"): copy[n] = float(re.search(r"([\d.]+) GB/s", line).group(1))
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 9 and cells[0] not in ("format", "---"): table.setdefault((cells[0], cells[1]), {})[n] = (float(cells[5]), cells[3])
print("\n| format | rows x cols | " + " | ".join(f"{n} GB/s (of copy)" for n in names) + " | best / committed |")
print("|---|---|" + "---:|" * (len(names) + 1))
for (f, s), r in table.items():
    base = r["committed"][0]
    cells = [f"{r[n][0]:.0f} ({100 * r[n][0] / copy[n]:.0f}%)" if n in r else "" for n in names]
    print(f"| {f} | {s} | " + " | ".join(cells) + f" | {max(v[0] for v in r.values()) / base:.2f}x |")
PY
