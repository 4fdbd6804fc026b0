#!/usr/bin/env bash
# What `make demo` ends with (scripts/demo-bench) on a fresh database, then the report opened in
# headless Chromium: its SVG charts must have rendered. Small sizes keep it quick under ASan.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BENCHMARK_DB_PATH="$tmp/demo.duckdb" DEMO_REPORT="$tmp/report.html" DEMO_BENCH_MODELS=minilm \
  DEMO_BENCH_SEQ_LENS=8,16 DEMO_BENCH_ITERATIONS=1 "$root/scripts/demo-bench"
node "$root/tests/db/check_report_in_browser.mjs" "$tmp/report.html"
