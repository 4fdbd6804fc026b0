#!/usr/bin/env python3
"""Checks the webaccel CLI against goldens made by independent implementations.

SmolLM2 (llama.cpp): greedy tokens and prompt last-position logits (relative L2 error).
MiniLM (sentence-transformers / PyTorch): embedding cosine similarity.
With --f32: SmolLM2's F32 copy (made here by `webaccel convert` if missing) against llama.cpp
with an f32 KV cache, where the issue's bar applies as written: every greedy token identical and
logits within 1e-3 relative L2 (docs/correctness.md).
Prints a table; exits non-zero when a check fails. Needs only the Python standard library.
"""
import array
import json
import math
import os
import subprocess
import sys
import tempfile

from f32_model import ensure_f32_gguf

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("WEBACCEL_BIN", os.path.join(HERE, "..", "..", "build", "release", "webaccel"))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(HERE, "..", "..", "models"))
THREADS = os.environ.get("WEBACCEL_THREADS", "2")
# llama.cpp's own two attention kernels (flash-attention on/off, recorded in the golden) disagree
# by 1-6% in logits and part ways after 2-64 greedy tokens: 8-bit activation rounding amplifies
# last-bit differences. We require the prompt's argmax token to match and the logits to lie
# within 1.5x the worst spread llama.cpp shows against itself (docs/correctness.md).
SPREAD_FACTOR = float(os.environ.get("WEBACCEL_SPREAD_FACTOR", "1.5"))
MIN_COSINE = 0.9999
MAX_F32_REL_L2 = 1e-3  # issue 2's bar, met only where both engines compute in f32
# The GPU path runs the same checks: WEBACCEL_BACKEND=webgpu (the run fails unless that backend
# was really used), fewer cases and tokens on software adapters (WEBACCEL_GOLDEN_CASES, _TOKENS).
BACKEND = os.environ.get("WEBACCEL_BACKEND", "cpu")
MAX_CASES = int(os.environ.get("WEBACCEL_GOLDEN_CASES", "1000"))
MAX_TOKENS = int(os.environ.get("WEBACCEL_GOLDEN_TOKENS", "1000"))


def check_backend(result_json):
    used = json.load(open(result_json)).get("backend", "cpu")
    if not used.startswith(BACKEND):
        sys.exit(f"asked for --backend {BACKEND} but the run used {used}")
    return used


def read_f32(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a


def rel_l2(a, b):
    num = sum((x - y) ** 2 for x, y in zip(a, b))
    den = sum(y * y for y in b)
    return math.sqrt(num / den)


def run_case(gguf, i, case, want, tmp, extra_args):
    """Tokenizes the case's prompt, then decodes greedily from its token ids: (prompt ids, tokens,
    logits rel L2 vs the golden, the run's JSON path)."""
    out_json = os.path.join(tmp, f"gen{i}.json")
    logits_path = os.path.join(tmp, f"logits{i}.bin")
    ids = " ".join(str(t) for t in case["prompt_tokens"])
    # Tokenization is checked separately: the prompt text must tokenize to llama.cpp's ids.
    subprocess.run([BIN, "generate", "-m", gguf, "-p", case["prompt"], "--no-chat", "-n", "0", "-q",
                    "--json", out_json, "-t", THREADS], check=True, stderr=subprocess.DEVNULL)
    tokenized = json.load(open(out_json))["prompt_tokens"]
    subprocess.run([BIN, "generate", "-m", gguf, "--token-ids", ids, "-n", str(len(want)), "--temperature", "0",
                    "--ignore-eos", "-q", "--json", out_json, "--dump-logits", logits_path, "-t", THREADS] + extra_args,
                   check=True, stderr=subprocess.DEVNULL)
    got = json.load(open(out_json))["generated_tokens"]
    err = rel_l2(read_f32(logits_path), read_f32(os.path.join(HERE, case["last_logits_file"])))
    return tokenized, got, err, out_json


def check_smollm2(tmp):
    golden = json.load(open(os.path.join(HERE, "smollm2_greedy.json")))
    gguf = os.path.join(MODELS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    failures = 0
    spread = max(c["llama_fa_vs_nonfa"]["logits_rel_l2"] for c in golden["cases"])
    max_err = SPREAD_FACTOR * spread
    print(f"SmolLM2 vs {golden['reference']} (non-flash attention); logits bound {max_err:.2e} "
          f"= {SPREAD_FACTOR} x llama.cpp's own FA-vs-non-FA spread {spread:.2e}")
    print(f"{'case':>4} {'prompt tok':>10} {'agreeing':>8} {'llama FA agrees':>15} {'logits rel L2':>14} {'llama FA rel L2':>15}  status")
    for i, case in enumerate(golden["cases"][:MAX_CASES]):
        want = case["generated_tokens"][:MAX_TOKENS]
        tokenized, got, err, out_json = run_case(gguf, i, case, want, tmp, ["--backend", BACKEND])
        if i == 0:
            print(f"backend: {check_backend(out_json)}")
        check_backend(out_json)
        agree = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        ok = tokenized == case["prompt_tokens"] and agree >= 1 and err <= max_err
        failures += not ok
        status = "ok" if ok else ("FAIL tokenization" if tokenized != case["prompt_tokens"] else "FAIL")
        ref = case["llama_fa_vs_nonfa"]
        print(f"{i:>4} {len(case['prompt_tokens']):>10} {agree:>5}/{len(want):<2} {min(ref['agreeing_tokens'], len(want)):>12}/{len(want):<2}"
              f" {err:>14.2e} {ref['logits_rel_l2']:>15.2e}  {status}")
    return failures


def check_smollm2_f32(tmp):
    path = os.path.join(HERE, "smollm2_f32_greedy.json")
    if not os.path.exists(path):
        print("SmolLM2 F32 goldens missing: run scripts/make-goldens")
        return 1
    golden = json.load(open(path))
    gguf = ensure_f32_gguf(BIN, MODELS)
    print(f"SmolLM2 F32 vs {golden['reference']} (f32 KV cache, flash attention off); need every token identical "
          f"and logits rel L2 <= {MAX_F32_REL_L2:.0e}")
    print(f"{'case':>4} {'prompt tok':>10} {'agreeing':>8} {'logits rel L2':>14}  status")
    failures, worst = 0, 0.0
    for i, case in enumerate(golden["cases"][:MAX_CASES]):
        want = case["generated_tokens"][:MAX_TOKENS]
        tokenized, got, err, _ = run_case(gguf, i, case, want, tmp, ["--kv-cache", "f32"])
        agree = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        worst = max(worst, err)
        ok = tokenized == case["prompt_tokens"] and agree == len(want) == len(got) and err <= MAX_F32_REL_L2
        failures += not ok
        status = "ok" if ok else ("FAIL tokenization" if tokenized != case["prompt_tokens"] else "FAIL")
        print(f"{i:>4} {len(case['prompt_tokens']):>10} {agree:>5}/{len(want):<2} {err:>14.2e}  {status}")
    print(f"SmolLM2 F32: worst logits rel L2 {worst:.2e}; {'ok' if not failures else f'{failures} FAILED'}")
    return failures


def check_minilm(tmp):
    path = os.path.join(HERE, "minilm_embeddings.json")
    if not os.path.exists(path):
        print("MiniLM goldens missing: run scripts/make-goldens")
        return 1
    golden = json.load(open(path))
    out = os.path.join(tmp, "emb.json")
    texts_file = os.path.join(tmp, "texts.txt")
    with open(texts_file, "w") as f:
        f.write("\n".join(golden["sentences"]) + "\n")
    subprocess.run([BIN, "embed", "-m", os.path.join(MODELS, "minilm"), "-f", texts_file, "-o", out, "-t", THREADS,
                    "--backend", BACKEND], check=True, stderr=subprocess.DEVNULL)
    check_backend(out)
    got = json.load(open(out))["embeddings"]
    worst = 1.0
    for a, b in zip(got, golden["embeddings"]):
        cos = sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        worst = min(worst, cos)
    ok = len(got) == len(golden["embeddings"]) and worst >= MIN_COSINE
    print(f"MiniLM vs {golden['reference']}: {len(got)} sentences, worst cosine {worst:.6f} "
          f"(need >= {MIN_COSINE}) {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    f32 = "--f32" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        failures = check_smollm2_f32(tmp) if f32 else check_smollm2(tmp) + check_minilm(tmp)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
