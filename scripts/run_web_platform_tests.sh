#!/usr/bin/env bash
# The guide's single-test script, over the real runner: `webaccel bench` for one model (or a list)
# on what is built today (native CPU), stored in the benchmark database.
#   scripts/run_web_platform_tests.sh --model bert [--db-path FILE|postgresql://...] [--threads N]
#       [--batch-sizes 1,4] [--seq-lens 32,128] [--iterations N] [--decode-tokens N]
#       [--enable-ultra-low-precision [--bits 2|3]] [--enable-4bit] [--eval-windows N]   (llama: quantized variants)
# Flags of the guide whose feature is not built yet (--browser, --enable-compute-shaders, ...) are
# errors naming what is missing. Honours BENCHMARK_DB_PATH and DEPRECATE_JSON_OUTPUT.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/web-tests-common.sh

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "scripts/$(basename "$0")"; }

models="" args=() ulp=0 four=0 bits=""
while (($#)); do
  flag=$1
  case "$flag" in
    -h|--help) usage; exit 0 ;;
    --model|--models) (($# >= 2)) || die "$flag needs a value"; models=$(map_models "$2"); shift 2 ;;
    --db-path|--db) (($# >= 2)) || die "$flag needs a value"; args+=(--db "$2"); shift 2 ;;
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
require_bin
exec "$WEBACCEL_BIN" bench --models "$models" --backends cpu --precisions "$precisions" "${args[@]}"
