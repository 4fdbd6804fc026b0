#!/usr/bin/env bash
# The guide's multi-test script: runs a test type across models through `webaccel bench`, stores
# every cell in the benchmark database and optionally writes the HTML report.
#   scripts/run_integrated_web_tests.sh --test-type native [--models all|bert,llama] [--db-path FILE]
#       [--output-html FILE] [--threads N] [--seq-lens 32,128] [--batch-sizes 1] [--iterations N]
#       [--enable-ultra-low-precision [--bits 2|3]] [--enable-4bit]   (llama: quantized variants too)
# Test types: native (every model on the native CPU backend), ultra-low-precision (also each llama
# model's 2/3-bit variant, quantized and evaluated; --output-html writes that report),
# browser-comparison (native CPU, wasm in Node, Chromium and Firefox ESR), cross-browser (wasm and
# WebGPU in Chromium and Firefox ESR), compute-shaders (WebGPU natively and in both browsers, beside
# the native CPU); these three write the browser_comparison report. A WebGPU cell whose device is
# absent is stored as skipped, with the reason. The guide's other feature test types (june-2025, ...)
# are errors until their features exist.
set -euo pipefail
caller=$PWD  # relative --db-path / --output-html name files where the script was called from
cd "$(dirname "$0")/.."
source scripts/lib/web-tests-common.sh

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "scripts/$(basename "$0")"; }

test_type="" models=all output_html="" db=() args=() ulp=0 four=0 bits="" backends=cpu report=web_platform
while (($#)); do
  flag=$1
  case "$flag" in
    -h|--help) usage; exit 0 ;;
    --test-type) (($# >= 2)) || die "$flag needs a value"; test_type=$2; shift 2 ;;
    --models|--model) (($# >= 2)) || die "$flag needs a value"; models=$(map_models "$2"); shift 2 ;;
    --output-html) (($# >= 2)) || die "$flag needs a value"; output_html=$(from_caller "$2"); shift 2 ;;
    --db-path|--db) (($# >= 2)) || die "$flag needs a value"; db=(--db "$(from_caller "$2")"); shift 2 ;;
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
case "$test_type" in
  native) ;;
  ultra-low-precision) ulp=1; report=ultra_low_precision ;;  # native CPU, stored model plus its 2/3-bit variant
  browser-comparison) backends=cpu,wasm@node,wasm@chromium,wasm@firefox; report=browser_comparison ;;
  cross-browser) backends=wasm@chromium,wasm@firefox,webgpu@chromium,webgpu@firefox; report=browser_comparison ;;
  compute-shaders) backends=cpu,webgpu,webgpu@chromium,webgpu@firefox; report=browser_comparison ;;
  "") die "--test-type is required (native, ultra-low-precision, browser-comparison, cross-browser, compute-shaders)" ;;
  june-2025|july-2025|optimization-comparison|progressive-loading|shader-precompile)
    not_built "--test-type $test_type" "its features (progressive loader, shader precompilation switch, ...) are not built" ;;
  *) die "--test-type $test_type: unknown (known: native, ultra-low-precision, browser-comparison, cross-browser, compute-shaders)" ;;
esac
check_feature_env
for v in WEBGPU_COMPUTE_SHADERS_ENABLED WEBGPU_WASM_FALLBACK; do
  [[ "${!v:-0}" == 1 ]] && die "$v=1: here --test-type chooses the backends (compute-shaders, cross-browser, browser-comparison); the variable applies to run_web_platform_tests.sh"
done
precisions=$(precisions_for "$ulp" "$bits" "$four")
require_bin
"$WEBACCEL_BIN" bench --models "$models" --backends "$backends" --precisions "$precisions" "${db[@]}" "${args[@]}"
if [[ -n "$output_html" ]]; then
  "$WEBACCEL_BIN" report --report "$report" --format html --output "$output_html" "${db[@]}"
fi
