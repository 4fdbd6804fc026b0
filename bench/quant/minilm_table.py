#!/usr/bin/env python3
"""all-MiniLM-L6-v2 quantized in memory by webaccel: effective bits per weight, memory vs fp16 and
mean cosine of sentence embeddings against the unquantized model, on the sentences of the
evaluation part of GPL-3 (Debian base-files; calibration sentences from the other part).

  python3 bench/quant/minilm_table.py [--threads N]"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "release", "webaccel")
TEXTS = os.path.join(ROOT, "build", "quant")
# The guide config without "lm_head": an encoder has no head, and a key matching nothing is an error.
MIXED = os.path.join(ROOT, "bench", "quant", "guide_mixed_encoder.json")
CONFIGS = [("webaccel 8-bit (G64)", ["--bits", "8"]), ("webaccel 4-bit (G64)", ["--bits", "4"]),
           ("webaccel 3-bit (G64)", ["--bits", "3"]), ("webaccel 2-bit (G64)", ["--bits", "2"]),
           ("webaccel mixed (guide config)", ["--bits", "4", "--mixed", MIXED])] + \
          [(f"webaccel adaptive {b} bpw", ["--adaptive", "--target-bpw", str(b), "--calibration",
                                            os.path.join(TEXTS, "calibration.txt")]) for b in (2.5, 3.0, 4.0)]
UNREACHABLE = "below what the formats can reach"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "quant", "make_texts.py"), TEXTS], check=True)
    rows = []
    for name, flags in CONFIGS:
        p = subprocess.run([BIN, "eval", "-m", os.path.join(ROOT, "models", "minilm"), "--text",
                            os.path.join(TEXTS, "evaluation.txt"), "-t", str(args.threads)] + flags, capture_output=True, text=True)
        if p.returncode != 0 and UNREACHABLE in p.stderr:
            print(f"  {name}: refused: {p.stderr.strip()}", file=sys.stderr)  # e.g. 2.5 bpw: f32 tensors already cost too much
            continue
        if p.returncode != 0:
            sys.exit(f"{name}: {p.stderr}")
        j = json.loads(p.stdout)
        q = j["quantization"]
        rows.append((name, q["effective_bits_per_weight"], q["total_bytes"] / 2**20, q["memory_reduction_vs_fp16_percent"],
                     j["mean_cosine"], j["sentences_per_second"], j["sentences"]))
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    print(f"\nall-MiniLM-L6-v2, {rows[0][6]} sentences of the GPL-3 evaluation part; {args.threads} threads; {time.strftime('%Y-%m-%d')}\n")
    print("| format | bits/weight | MiB | memory vs fp16 | mean cosine vs f32 | sentences/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.3f} | {r[2]:.1f} | -{r[3]:.1f}% | {r[4]:.5f} | {r[5]:.1f} |")


if __name__ == "__main__":
    main()
