#!/usr/bin/env bash
# On a GPU machine: two (or more) packed gpu-bench builds back to back in one call, each through
# decode_shares.sh (whole step and with one-token attention dropped) and compare_attention_split.sh
# (context lengths): an A/B of a change the WGSL directory override cannot express (its C++ moved
# too). Tables go to $OUT/<build's folder name>.md. Pack each build with pack_decode_bench.sh and
# copy the folder aside (e.g. build/gpu-carry-old); carry them all and .gl.
#   BUILDS="build/gpu-carry-old build/gpu-carry" bench/gpu/compare_builds.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
for round in ${ROUNDS:-1}; do
  for carry in ${BUILDS:-build/gpu-carry-old build/gpu-carry}; do
    name=$(basename "$carry")
    {
      echo "## $carry, round $round, $(date -u)"
      CARRY=$carry RUNS="${RUNS:-7b 4 -;7b 4 attention_decode,attention_combine;smollm2 4 -;smollm2 4 attention_decode,attention_combine}" \
        bench/gpu/decode_shares.sh
      CARRY=$carry SHAPES="${SHAPES:-7b:4 smollm2:4}" CONTEXTS="${CONTEXTS:-40 1000}" SPLITS="${SPLITS:-16:128}" \
        bench/gpu/compare_attention_split.sh
    } >> "$out/$name.md" 2>&1
  done
done
