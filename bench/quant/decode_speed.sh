#!/usr/bin/env bash
# Decode tokens/s of every package and llama.cpp file made by quality_table.py, one after another
# on an otherwise idle machine (quality_table.py's own speed column is taken between evaluations).
# Usage: bench/quant/decode_speed.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
t=${1:-2}
for p in models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf bench/out/pkg-*; do
  build/release/webaccel generate -m "$p" -p "The history of the printing press" --no-chat -n 65 --temperature 0 \
    --ignore-eos -q -t "$t" -c 256 --json build/decode_speed.json 2>/dev/null
  python3 -c "import json,sys; print(f'webaccel  {sys.argv[1]:<45} {json.load(open(\"build/decode_speed.json\"))[\"decode_tokens_per_second\"]:.1f}')" "$(basename "$p")"
done
.venv-peers/bin/python - "$t" <<'PY'
import glob, os, sys, time
import numpy as np
from llama_cpp import Llama
for path in sorted(glob.glob("bench/out/*.gguf")):
    llm = Llama(model_path=path, n_ctx=256, n_threads=int(sys.argv[1]), verbose=False)
    tok = llm.tokenize(b"The history of the printing press", add_bos=False)
    llm.eval(tok); nxt = int(np.argmax(llm.scores[llm.n_tokens - 1])); t0 = time.perf_counter()
    for _ in range(64):
        llm.eval([nxt]); nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    print(f"llama.cpp {os.path.basename(path):<45} {64 / (time.perf_counter() - t0):.1f}")
PY
