#!/usr/bin/env bash
# The guide's multi-test script: runs a test type across models through `webaccel bench`, stores
# every cell in the benchmark database and optionally writes the HTML report.
#   scripts/run_integrated_web_tests.sh --test-type native [--models all|bert,llama] [--db-path FILE]
#       [--output-html FILE] [--threads N] [--seq-lens 32,128] [--batch-sizes 1] [--iterations N]
# Test types: native (every model on the native CPU backend). The guide's browser and feature test
# types (cross-browser, browser-comparison, june-2025, ...) are errors until their runtime exists.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/web-tests-common.sh

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

test_type="" models=all output_html="" db=() args=()
while (($#)); do
  flag=$1
  case "$flag" in
    -h|--help) usage; exit 0 ;;
    --test-type) (($# >= 2)) || die "$flag needs a value"; test_type=$2; shift 2 ;;
    --models|--model) (($# >= 2)) || die "$flag needs a value"; models=$(map_models "$2"); shift 2 ;;
    --output-html) (($# >= 2)) || die "$flag needs a value"; output_html=$2; shift 2 ;;
    --db-path|--db) (($# >= 2)) || die "$flag needs a value"; db=(--db "$2"); shift 2 ;;
    --threads|--batch-sizes|--seq-lens|--iterations|--decode-tokens)
      (($# >= 2)) || die "$flag needs a value"; args+=("$flag" "$2"); shift 2 ;;
    *)
      if reason=$(unbuilt_flag_reason "$flag"); then not_built "$flag" "$reason"; fi
      die "unknown flag '$flag' (see --help)" ;;
  esac
done
case "$test_type" in
  native) ;;
  "") die "--test-type is required (native)" ;;
  cross-browser|browser-comparison) not_built "--test-type $test_type" "browser runs need the wasm/WebGPU runtime in the runner (web/)" ;;
  june-2025|july-2025|optimization-comparison|ultra-low-precision|progressive-loading|shader-precompile|compute-shaders)
    not_built "--test-type $test_type" "its features (WebGPU, loader, quantized variants in the runner) are not built" ;;
  *) die "--test-type $test_type: unknown (known: native)" ;;
esac
check_feature_env
require_bin
"$WEBACCEL_BIN" bench --models "$models" --backends cpu "${db[@]}" "${args[@]}"
if [[ -n "$output_html" ]]; then
  "$WEBACCEL_BIN" report --report web_platform --format html --output "$output_html" "${db[@]}"
fi
