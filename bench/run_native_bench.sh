#!/usr/bin/env bash
# Native benchmark against llama.cpp and PyTorch, run in one go: installs the peers into
# .venv-peers (llama-cpp-python builds llama.cpp from source: minutes on 2 cores, once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-peers
.venv-peers/bin/python bench/bench_native.py "$@"
