#!/usr/bin/env python3
"""all-MiniLM-L6-v2 quantized by webaccel into real packages (`webaccel quantize`), each loaded back
from disk by `webaccel eval -r models/minilm`: package size on disk, effective bits per weight,
memory vs fp16, mean cosine of sentence embeddings against the f32 model and sentences/s, on the
sentences of the evaluation part of GPL-3 (Debian base-files; calibration sentences from the other
part). Packages go to build/quant/minilm-*; the load average is printed with each row.

  python3 bench/quant/minilm_table.py [--threads N] [--bin build/release/webaccel] [--only TEXT] [--reuse] [--repeats N]"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINILM = os.path.join(ROOT, "models", "minilm")
TEXTS = os.path.join(ROOT, "build", "quant")
CALIBRATION = ["--calibration", os.path.join(TEXTS, "calibration.txt")]
# The guide config without "lm_head": an encoder has no head, and a key matching nothing is an error.
MIXED = os.path.join(ROOT, "bench", "quant", "guide_mixed_encoder.json")
CONFIGS = [("webaccel 8-bit (WQ8_G64)", ["--bits", "8"]), ("webaccel 4-bit (WQ4_G64)", ["--bits", "4"]),
           ("webaccel 3-bit (WQ3_G64)", ["--bits", "3"]), ("webaccel 2-bit (WQ2_G64)", ["--bits", "2"]),
           ("webaccel mixed (the guide's config without lm_head)", ["--bits", "4", "--mixed", MIXED])] + \
          [(f"webaccel adaptive {b} bpw", ["--adaptive", "--target-bpw", str(b)] + CALIBRATION) for b in (2.5, 3.0, 4.0)]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p


def disk_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--bin", default=os.environ.get("WEBACCEL_BIN", os.path.join(ROOT, "build", "release", "webaccel")))
    ap.add_argument("--only", default="", help="only rows whose name contains this text")
    ap.add_argument("--reuse", action="store_true", help="keep packages already made (re-measure quality and speed only)")
    ap.add_argument("--repeats", type=int, default=1, help="evaluate each model N times, keep the best sentences/s (noisy machines)")
    args = ap.parse_args()
    run([sys.executable, os.path.join(ROOT, "bench", "quant", "make_texts.py"), TEXTS])
    evaluation = os.path.join(TEXTS, "evaluation.txt")
    rows = []

    def evaluate(model):
        runs = [json.loads(run([args.bin, "eval", "-m", model, "-r", MINILM, "--text", evaluation, "-t", str(args.threads)]).stdout)
                for _ in range(args.repeats)]
        return max(runs, key=lambda j: j["sentences_per_second"]), os.getloadavg()[0]

    if not args.only:
        j, load = evaluate(MINILM)  # the f32 model against itself: the speed baseline
        st = [f for f in os.listdir(MINILM) if f.endswith(".safetensors")]
        rows.append({"format": "f32 safetensors (reference)", "bpw": 32.0, "disk_mib": disk_bytes(os.path.join(MINILM, st[0])) / 2**20,
                     "reduction": -100.0, "cosine": j["mean_cosine"], "sps": j["sentences_per_second"], "load": load,
                     "sentences": j["sentences"]})
    for name, flags in CONFIGS:
        if args.only not in name:
            continue
        pkg = os.path.join(TEXTS, "minilm-" + re.sub(r"[^a-z0-9.]+", "-", name.lower().replace("webaccel ", "")).strip("-"))
        stats = pkg + ".json"
        if not (args.reuse and os.path.exists(stats) and os.path.isdir(pkg)):
            run([args.bin, "quantize", "-m", MINILM, "-o", pkg, "--stats", stats, "-t", str(args.threads)] + flags)
        s = json.load(open(stats))
        j, load = evaluate(pkg)
        rows.append({"format": name, "bpw": s["effective_bits_per_weight"], "disk_mib": disk_bytes(pkg) / 2**20,
                     "reduction": s["memory_reduction_vs_fp16_percent"], "cosine": j["mean_cosine"],
                     "sps": j["sentences_per_second"], "load": load, "sentences": j["sentences"], "package": pkg})
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    out = os.path.join(ROOT, "bench", "out")
    os.makedirs(out, exist_ok=True)
    json.dump({"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "rows": rows}, open(os.path.join(out, "minilm.json"), "w"), indent=1)
    print(f"\nall-MiniLM-L6-v2, {rows[0]['sentences']} sentences of the GPL-3 evaluation part; {args.threads} threads; {time.strftime('%Y-%m-%d')}\n")
    print("| format | bits/weight | package on disk MiB | memory vs fp16 | mean cosine vs f32 | sentences/s | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['format']} | {r['bpw']:.3f} | {r['disk_mib']:.1f} | {-r['reduction']:+.1f}% | {r['cosine']:.5f} | {r['sps']:.1f} | {r['load']:.1f} |")


if __name__ == "__main__":
    main()
