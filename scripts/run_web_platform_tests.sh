#!/usr/bin/env bash
# The guide's single-test script, over the real runner: `webaccel bench` for one model (or a list),
# stored in the benchmark database.
#   scripts/run_web_platform_tests.sh --model bert [--db-path FILE|postgresql://...] [--threads N[,N]]
#       [--batch-sizes 1,4] [--seq-lens 32,128] [--iterations N] [--decode-tokens N]
#       [--browser chrome|firefox[,...]] [--enable-compute-shaders] [--enable-wasm-fallback [--disable-webgpu] [--enable-simd]]
#       [--enable-ultra-low-precision [--bits 2|3]] [--enable-4bit] [--eval-windows N]   (llama: quantized variants)
# Where it runs: no flags, the native CPU; --browser X alone, the wasm build and WebGPU in X (headless,
# through the JS API); --enable-compute-shaders, WebGPU (natively with the CLI's --backend webgpu, or in
# each --browser); --enable-wasm-fallback, the wasm build (in Node, or in each --browser) and WebGPU
# unless --disable-webgpu. A WebGPU cell whose device is absent is stored as skipped, with the reason.
# Flags of the guide whose feature is not built yet are errors naming what is missing.
# Honours BENCHMARK_DB_PATH, DEPRECATE_JSON_OUTPUT, WEBGPU_COMPUTE_SHADERS_ENABLED, WEBGPU_WASM_FALLBACK.
set -euo pipefail
caller=$PWD  # relative --db-path / --output-html name files where the script was called from
cd "$(dirname "$0")/.."
source scripts/lib/web-tests-common.sh

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "scripts/$(basename "$0")"; }

models="" args=() ulp=0 four=0 bits="" browsers="" wasm=0 gpu_on=0 gpu_off=0 simd=0
while (($#)); do
  flag=$1
  case "$flag" in
    -h|--help) usage; exit 0 ;;
    --model|--models) (($# >= 2)) || die "$flag needs a value"; models=$(map_models "$2"); shift 2 ;;
    --db-path|--db) (($# >= 2)) || die "$flag needs a value"; args+=(--db "$(from_caller "$2")"); shift 2 ;;
    --browser|--browsers) (($# >= 2)) || die "$flag needs a value"; browsers=$(map_browsers "$2"); shift 2 ;;
    --enable-compute-shaders) gpu_on=1; shift ;;
    --enable-wasm-fallback) wasm=1; shift ;;
    --disable-webgpu) gpu_off=1; shift ;;
    --enable-simd) simd=1; shift ;;
    --enable-ultra-low-precision) ulp=1; shift ;;
    --enable-4bit) four=1; shift ;;
    --bits) (($# >= 2)) || die "$flag needs a value"; bits=$2; shift 2 ;;
    --threads|--batch-sizes|--seq-lens|--iterations|--decode-tokens|--eval-windows)
      (($# >= 2)) || die "$flag needs a value"; args+=("$flag" "$2"); shift 2 ;;
    *)
      if reason=$(unbuilt_flag_reason "$flag"); then not_built "$flag" "$reason"; fi
      die "unknown flag '$flag' (see --help)" ;;
  esac
done
[[ -n "$models" ]] || die "--model is required (smollm2 or llama, minilm or bert, all)"
check_feature_env
precisions=$(precisions_for "$ulp" "$bits" "$four")
backends=$(backends_for "$browsers" "$wasm" "$gpu_on" "$gpu_off" "$simd")
require_bin
echo "$(basename "$0"): models $models, backends $backends, precisions $precisions" >&2
exec "$WEBACCEL_BIN" bench --models "$models" --backends "$backends" --precisions "$precisions" "${args[@]}"
