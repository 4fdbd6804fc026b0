#!/usr/bin/env python3
"""Native CPU benchmark, peers measured in the same run:

  SmolLM2-135M Q4_1: prompt processing (128 tokens) and decode (128 tokens), webaccel vs llama.cpp
                     (llama-cpp-python, same GGUF, same threads); peak RSS of each process.
  all-MiniLM-L6-v2:  sentences/s, webaccel vs sentence-transformers (PyTorch CPU, same threads).

Each measurement runs in its own process (so peak RSS is per engine) REPEATS times; medians and
webaccel/peer ratios are printed as a Markdown table. Usage:
  .venv-peers/bin/python bench/bench_native.py [--threads N] [--repeats R] [--json FILE]
--json also writes the medians as a webaccel-bench-run file for `webaccel bench --import FILE`.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "release", "webaccel")
GGUF = os.path.join(ROOT, "models", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
MINILM = os.path.join(ROOT, "models", "minilm")
N_PROMPT = 128
N_DECODE = 128

TEXT = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
        "combined movable metal type, oil-based inks and a wooden press adapted from wine making. "
        "Within decades, printing shops had spread across Europe, books became cheaper, literacy rose, "
        "and ideas travelled faster than ever before. Scholars argue about how much the press changed "
        "religion, science and politics, but few doubt that it reshaped how knowledge was stored and "
        "shared. Today, the web plays a similar role, and running machine learning models directly in "
        "the browser is one more step in moving computation closer to the people who use it. ") * 2

LLAMA_CPP_RUNNER = r"""
import json, sys, time
import numpy as np
from llama_cpp import Llama
gguf, threads, ids, n_decode = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=gguf, n_ctx=512, n_threads=threads, n_threads_batch=threads, n_batch=512,
            flash_attn=False, verbose=False)
t0 = time.perf_counter(); llm.eval(ids); t_prompt = time.perf_counter() - t0
tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
t0 = time.perf_counter()
for _ in range(n_decode):
    llm.eval([tok]); tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
t_decode = time.perf_counter() - t0
print(json.dumps({"prompt_tps": len(ids) / t_prompt, "decode_tps": n_decode / t_decode}))
"""

ST_RUNNER = r"""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from sentence_transformers import SentenceTransformer
model_dir, threads, texts = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
torch.set_num_threads(threads)
m = SentenceTransformer(model_dir, device="cpu")
m.encode(texts[:4])
t0 = time.perf_counter(); m.encode(texts, batch_size=32); s = time.perf_counter() - t0
print(json.dumps({"sentences_per_s": len(texts) / s}))
"""


def peak_rss_mib(cmd):
    """Runs cmd under a wrapper that reports its child's peak RSS; returns (stdout, stderr, MiB)."""
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); "
               "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
               "sys.exit(r.returncode)")
    p = subprocess.run([sys.executable, "-c", wrapper] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd[:4])}...\n{p.stderr[-2000:]}")
    out, err = p.stdout, p.stderr
    rss_kb = int(err.rsplit("PEAK_RSS_KB", 1)[1].split()[0])
    return out, err, rss_kb / 1024


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-minilm", action="store_true")
    ap.add_argument("--json", help="also write the medians for `webaccel bench --import`")
    args = ap.parse_args()
    t = str(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        j = os.path.join(tmp, "p.json")
        subprocess.run([BIN, "generate", "-m", GGUF, "-p", TEXT, "--no-chat", "-n", "0", "-q", "--json", j],
                       check=True, stderr=subprocess.DEVNULL)
        ids = json.load(open(j))["prompt_tokens"][:N_PROMPT]
        assert len(ids) == N_PROMPT, len(ids)

        wa_runs, wa_rss, ll_runs, ll_rss = [], [], [], []
        for _ in range(args.repeats):  # interleaved so drift hits both engines alike
            out_json = os.path.join(tmp, "g.json")
            _, _, rss = peak_rss_mib([BIN, "generate", "-m", GGUF, "--token-ids", " ".join(map(str, ids)),
                                      "-n", str(N_DECODE + 1), "--temperature", "0", "--ignore-eos", "-q",
                                      "-c", "512", "-t", t, "--json", out_json])
            g = json.load(open(out_json))
            wa_runs.append({"prompt_tps": g["prompt_tokens_per_second"], "decode_tps": g["decode_tokens_per_second"]})
            wa_rss.append(rss)
            out, _, rss = peak_rss_mib([sys.executable, "-c", LLAMA_CPP_RUNNER, GGUF, t, json.dumps(ids), str(N_DECODE)])
            ll_runs.append(json.loads(out.strip().splitlines()[-1]))
            ll_rss.append(rss)

        rows, measured = [], []
        for engine, runs, rss in (("webaccel", wa_runs, wa_rss), ("llama.cpp (llama-cpp-python)", ll_runs, ll_rss)):
            measured.append({"model_name": "smollm2", "model_type": "text-generation", "engine": engine, "platform": "cpu",
                             "backend": "cpu", "precision_name": "q4_1", "precision_bits": 4, "batch_size": 1,
                             "sequence_length": N_PROMPT, "decode_tokens": N_DECODE, "threads": args.threads,
                             "iterations": args.repeats, "prefill_tokens_per_second": median_of(runs, "prompt_tps"),
                             "decode_tokens_per_second": median_of(runs, "decode_tps"), "memory_usage_mb": statistics.median(rss),
                             "model_file": GGUF})
        for key, label in (("prompt_tps", f"SmolLM2 prompt processing ({N_PROMPT} tokens), tokens/s"),
                           ("decode_tps", f"SmolLM2 decode ({N_DECODE} tokens), tokens/s")):
            a, b = median_of(wa_runs, key), median_of(ll_runs, key)
            rows.append((label, a, b, a / b))
        rows.append(("SmolLM2 peak RSS, MiB (lower is better)", statistics.median(wa_rss), statistics.median(ll_rss),
                     statistics.median(ll_rss) / statistics.median(wa_rss)))

        if not args.skip_minilm:
            texts = [s.strip() + "." for s in TEXT.split(".") if s.strip()] * 8
            tf = os.path.join(tmp, "texts.txt")
            open(tf, "w").write("\n".join(texts) + "\n")
            wa, st, wa_m, st_m = [], [], [], []
            for _ in range(args.repeats):
                _, err, rss = peak_rss_mib([BIN, "embed", "-m", MINILM, "-f", tf, "-o", os.path.join(tmp, "e.json"), "-t", t])
                wa.append(float(err.split("sentences/s")[0].rsplit(":", 1)[1]))
                wa_m.append(rss)
                out, _, rss = peak_rss_mib([sys.executable, "-c", ST_RUNNER, MINILM, t, json.dumps(texts)])
                st.append(json.loads(out.strip().splitlines()[-1])["sentences_per_s"])
                st_m.append(rss)
            a, b = statistics.median(wa), statistics.median(st)
            for engine, sps, rss in (("webaccel", a, wa_m), ("sentence-transformers (PyTorch CPU)", b, st_m)):
                measured.append({"model_name": "minilm", "model_type": "text-embedding", "engine": engine, "platform": "cpu",
                                 "backend": "cpu", "precision_name": "f32", "precision_bits": 32, "batch_size": len(texts),
                                 "threads": args.threads, "iterations": args.repeats,
                                 "average_inference_time_ms": 1000.0 * len(texts) / sps,
                                 "memory_usage_mb": statistics.median(rss), "model_file": MINILM})
            rows.append((f"MiniLM sentences/s ({len(texts)} sentences)", a, b, a / b))
            rows.append(("MiniLM peak RSS, MiB (lower is better)", statistics.median(wa_m), statistics.median(st_m),
                         statistics.median(st_m) / statistics.median(wa_m)))

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    print(f"\nmachine: {cpu}, {os.cpu_count()} cores; threads {t}; {args.repeats} runs each, medians; "
          f"{time.strftime('%Y-%m-%d')}\npeers: llama.cpp = llama-cpp-python (non-flash attention), "
          f"MiniLM peer = sentence-transformers on PyTorch CPU (batch 32)\n")
    print("| measure | webaccel | peer | webaccel / peer |")
    print("|---|---:|---:|---:|")
    for label, a, b, r in rows:
        print(f"| {label} | {a:.1f} | {b:.1f} | {r:.2f}x |")
    if args.json:
        write_run_json(args.json, cpu, measured)


def write_run_json(path, cpu, measured):
    """The webaccel-bench-run format (src/bench/run_file.h), for `webaccel bench --import`."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    run = {"run_id": f"bench_native-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{platform.node()}-{os.getpid()}",
           "status": "complete", "source": "bench/bench_native.py", "started_at": started, "finished_at": started,
           "git_commit": commit, "machine": platform.node(), "os": f"{platform.system()} {platform.release()} {platform.machine()}",
           "cpu": cpu, "cpu_cores": os.cpu_count(), "command_line": " ".join(sys.argv), "cells_planned": len(measured)}
    with open(path, "w") as f:
        json.dump({"format": "webaccel-bench-run", "format_version": 1, "run": run, "measurements": measured}, f, indent=1)
    print(f"\nwritten for `webaccel bench --import`: {path}")


if __name__ == "__main__":
    main()
