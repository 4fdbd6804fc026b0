#!/usr/bin/env python3
"""all-MiniLM-L6-v2 quantized by webaccel into real packages (`webaccel quantize`), and by llama.cpp
into GGUF files (bench/quant/minilm_gguf.py: the model in llama.cpp's BERT layout, F32, then
llama-cpp-python's quantize API), each loaded back from disk by the same `webaccel eval -r
models/minilm` in the same run: size on disk, effective bits per weight, memory vs fp16, mean cosine
of sentence embeddings against the f32 model and sentences/s, on the sentences of the evaluation
part of GPL-3 (Debian base-files; calibration sentences from the other part). For the llama.cpp
files, llama.cpp's own inference (llama-cpp-python embeddings, mean pooling) is measured against
sentence-transformers on the same sentences as a check that webaccel reads them as llama.cpp does.
Files go to build/quant/minilm-*; the load average is printed with each row.

  .venv-peers/bin/python bench/quant/minilm_table.py [--threads N] [--bin build/release/webaccel] [--only TEXT]
      [--reuse] [--repeats N] [--no-llama-cpp]
  (--no-llama-cpp: webaccel rows only, with any python3; llama.cpp rows need scripts/setup-peers)"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_gguf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINILM = os.path.join(ROOT, "models", "minilm")
TEXTS = os.path.join(ROOT, "build", "quant")
CALIBRATION = ["--calibration", os.path.join(TEXTS, "calibration.txt")]
# The guide config without "lm_head": an encoder has no head, and a key matching nothing is an error.
MIXED = os.path.join(ROOT, "bench", "quant", "guide_mixed_encoder.json")
CONFIGS = [("webaccel 8-bit (WQ8_G64)", ["--bits", "8"]), ("webaccel 4-bit (WQ4_G64)", ["--bits", "4"]),
           ("webaccel 3-bit (WQ3_G64)", ["--bits", "3"]), ("webaccel 2-bit (WQ2_G64)", ["--bits", "2"]),
           ("webaccel mixed (the guide's config without lm_head)", ["--bits", "4", "--mixed", MIXED])] + \
          [(f"webaccel adaptive {b} bpw", ["--adaptive", "--target-bpw", str(b)] + CALIBRATION) for b in (2.5, 3.0, 4.0, 4.5, 5.6, 6.7, 7.3)]
# llama.cpp's quantizations (llama.h llama_ftype, through minilm_gguf.quantize): its defaults (not
# pure: token_embd, which with no output tensor llama.cpp treats as the output matrix, gets Q6_K and
# falls back to Q8_0; position and token-type embeddings stay F32), and pure (every matrix at the
# type, position/token-type embeddings still F32). MiniLM's 384-wide rows are not whole 256-weight
# K-quant super-blocks: llama.cpp falls back per tensor (Q4_K -> Q5_0, Q3_K/Q2_K -> Q4_0,
# Q6_K -> Q8_0), so only ffn_down (1536-wide rows) gets a K-quant.
LLAMA_CPP_TYPES = [("llama.cpp Q8_0", "Q8_0", False), ("llama.cpp Q4_K_M", "Q4_K_M", False), ("llama.cpp Q4_0", "Q4_0", False),
                   ("llama.cpp Q3_K_S", "Q3_K_S", False), ("llama.cpp Q2_K", "Q2_K", False),
                   ("llama.cpp Q4_K_M pure", "Q4_K_M", True), ("llama.cpp Q4_0 pure", "Q4_0", True),
                   ("llama.cpp Q3_K_S pure", "Q3_K_S", True), ("llama.cpp Q2_K pure", "Q2_K", True)]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p


def disk_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def matrix_types(types):
    """{tensor: type} -> "Q8_0 token_embd; 30 Q4_0, 6 Q3_K" over the 2-D tensors (norms and biases are F32 in every row)."""
    embd = {n: t for n, t in types.items() if n.startswith(("token_embd.", "embeddings.word_embeddings"))}
    pos = {n: t for n, t in types.items() if n.startswith(("position_embd.", "token_types.", "embeddings.position_embeddings",
                                                               "embeddings.token_type_embeddings"))}
    layers = {}
    for n, t in types.items():
        if n.endswith(".weight") and not n.endswith(("norm.weight", "LayerNorm.weight")) and n not in embd and n not in pos:
            layers[t] = layers.get(t, 0) + 1
    lay = ", ".join(f"{c} {t}" for t, c in sorted(layers.items(), key=lambda kv: -kv[1]))
    return f"{'/'.join(sorted(set(embd.values())))} word embd; {'/'.join(sorted(set(pos.values())))} pos+type; {lay}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--bin", default=os.environ.get("WEBACCEL_BIN", os.path.join(ROOT, "build", "release", "webaccel")))
    ap.add_argument("--only", default="", help="only rows whose name contains this text")
    ap.add_argument("--reuse", action="store_true", help="keep packages already made (re-measure quality and speed only)")
    ap.add_argument("--repeats", type=int, default=1, help="evaluate each model N times, keep the best sentences/s (noisy machines)")
    ap.add_argument("--no-llama-cpp", action="store_true", help="leave out llama.cpp's quantizations (no llama-cpp-python needed)")
    args = ap.parse_args()
    if not args.no_llama_cpp:
        try:
            import llama_cpp  # noqa: F401
            import sentence_transformers  # noqa: F401
        except ImportError:
            sys.exit("llama.cpp rows need llama-cpp-python and sentence-transformers: scripts/setup-peers, then run with "
                     ".venv-peers/bin/python (or pass --no-llama-cpp)")
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
                     "sps": j["sentences_per_second"], "load": load, "sentences": j["sentences"], "package": pkg,
                     "types": matrix_types({n: v["type"] for n, v in s["bits_per_layer"].items()})})
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    if not args.no_llama_cpp:
        rows += llama_cpp_rows(args, evaluate, evaluation)
    out = os.path.join(ROOT, "bench", "out")
    os.makedirs(out, exist_ok=True)
    json.dump({"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "rows": rows}, open(os.path.join(out, "minilm.json"), "w"), indent=1)
    print(f"\nall-MiniLM-L6-v2, {rows[0]['sentences']} sentences of the GPL-3 evaluation part; {args.threads} threads; {time.strftime('%Y-%m-%d')}\n")
    print("| format | bits/weight | on disk MiB | memory vs fp16 | mean cosine vs f32 (webaccel eval) | llama.cpp's own inference | "
          "sentences/s | load average | matrix types |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        own = f"{r['llama_cpp_cosine']:.5f}" if "llama_cpp_cosine" in r else ""
        print(f"| {r['format']} | {r['bpw']:.3f} | {r['disk_mib']:.1f} | {-r['reduction']:+.1f}% | {r['cosine']:.5f} | {own} | "
              f"{r['sps']:.1f} | {r['load']:.1f} | {r.get('types', '')} |")


def llama_cpp_rows(args, evaluate, evaluation):
    """MiniLM in llama.cpp's layout (F32), then llama.cpp's quantizations of it, each measured by
    webaccel eval and, as a check, by llama.cpp's own inference against sentence-transformers."""
    from sentence_transformers import SentenceTransformer
    sentences = minilm_gguf.read_sentences(evaluation)
    reference = SentenceTransformer(MINILM, device="cpu").encode(sentences, normalize_embeddings=True).tolist()
    f32 = os.path.join(TEXTS, "minilm-llama-F32.gguf")
    if not (args.reuse and os.path.exists(f32)):
        minilm_gguf.convert(MINILM, f32)
    rows = []
    for name, type_name, pure in [("llama.cpp layout F32 GGUF (converted, unquantized)", None, False)] + LLAMA_CPP_TYPES:
        if args.only not in name:
            continue
        path = f32 if type_name is None else os.path.join(TEXTS, f"minilm-llama-{type_name}{'-pure' if pure else ''}.gguf")
        if type_name and not (args.reuse and os.path.exists(path)):
            minilm_gguf.quantize(f32, path, type_name, args.threads, pure=pure)
        d = minilm_gguf.describe(path)
        j, load = evaluate(path)
        _, own = minilm_gguf.llama_cpp_embeddings(path, sentences, args.threads)
        own_cos = [minilm_gguf.cosine(a, b) for a, b in zip(own, reference)]
        rows.append({"format": name, "bpw": d["bits_per_weight"], "disk_mib": d["file_bytes"] / 2**20,
                     "reduction": d["memory_reduction_vs_fp16_percent"], "cosine": j["mean_cosine"], "sps": j["sentences_per_second"],
                     "load": load, "sentences": j["sentences"], "file": path, "types": matrix_types(d["tensor_types"]),
                     "tensor_types": d["tensor_types"], "llama_cpp_cosine": sum(own_cos) / len(own_cos)})
        print(f"  {name}: { {k: v for k, v in rows[-1].items() if k != 'tensor_types'} }", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
