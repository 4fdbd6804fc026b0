#!/usr/bin/env python3
"""The WebGPU path's fallbacks through the CLI: WebGPU absent (WEBACCEL_GPU_DISABLE=1) and the
device lost mid-run (WEBACCEL_GPU_LOSE_AFTER=N destroys it before eval N) must give the same
greedy tokens and embeddings as the CPU backend, and say on stderr that they fell back.
Runs on whatever adapter the native device finds (lavapipe in CTest). Standard library only."""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("WEBACCEL_BIN", os.path.join(HERE, "..", "..", "build", "release", "webaccel"))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(HERE, "..", "..", "models"))
GGUF = os.path.join(MODELS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
N = "6"


def generate(tmp, backend, env_extra):
    out = os.path.join(tmp, "gen.json")
    env = dict(os.environ, **env_extra)
    r = subprocess.run([BIN, "generate", "-m", GGUF, "-p", "The capital of France is", "--no-chat", "-n", N,
                        "--temperature", "0", "--ignore-eos", "-q", "--json", out, "-t", "2", "--backend", backend],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"generate --backend {backend} {env_extra} failed ({r.returncode}): {r.stderr}")
    j = json.load(open(out))
    return j["generated_tokens"], j["backend"], r.stderr


def embed(tmp, backend, env_extra):
    out = os.path.join(tmp, "emb.json")
    env = dict(os.environ, **env_extra)
    r = subprocess.run([BIN, "embed", "-m", os.path.join(MODELS, "minilm"), "-o", out, "-t", "2", "--backend", backend,
                        "A cat sits on the mat.", "Stock markets fell sharply today.", "The kitten rests on a rug."],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"embed --backend {backend} {env_extra} failed ({r.returncode}): {r.stderr}")
    j = json.load(open(out))
    return j["embeddings"], j["backend"], r.stderr


def worst_cosine(a, b):
    return min(sum(x * y for x, y in zip(u, v)) / math.sqrt(sum(x * x for x in u) * sum(y * y for y in v))
               for u, v in zip(a, b))


def main():
    failures = 0

    def check(name, ok, detail):
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    with tempfile.TemporaryDirectory() as tmp:
        cpu_tokens, _, _ = generate(tmp, "cpu", {})
        gpu_tokens, gpu_backend, _ = generate(tmp, "webgpu", {})
        check("webgpu runs on the GPU", gpu_backend.startswith("webgpu"), gpu_backend)
        agree = next((k for k, (a, b) in enumerate(zip(gpu_tokens, cpu_tokens)) if a != b), len(cpu_tokens))
        # f32 GPU sums vs the CPU's 8-bit activations: near-ties may part later (docs/correctness.md).
        check("webgpu first tokens = cpu", agree >= 3, f"{agree}/{len(cpu_tokens)} agree: {gpu_tokens} vs {cpu_tokens}")

        tokens, backend, err = generate(tmp, "webgpu", {"WEBACCEL_GPU_DISABLE": "1"})
        check("absent: falls back", backend == "cpu" and "WebGPU absent" in err, err.strip().splitlines()[0])
        check("absent: tokens = cpu", tokens == cpu_tokens, f"{tokens}")

        tokens, backend, err = generate(tmp, "webgpu", {"WEBACCEL_GPU_LOSE_AFTER": "2"})
        check("lost mid-run: falls back", backend == "cpu" and "device lost" in err,
              next((l for l in err.splitlines() if "lost" in l), "no note"))
        # Tokens 0-1 came from the GPU (they agree with the CPU's), the rest from the CPU's replay.
        check("lost mid-run: tokens = cpu", tokens == cpu_tokens, f"{tokens}")

        cpu_emb, _, _ = embed(tmp, "cpu", {})
        gpu_emb, backend, _ = embed(tmp, "webgpu", {})
        check("embed on the GPU", backend.startswith("webgpu"), backend)
        check("embed webgpu ~ cpu", worst_cosine(gpu_emb, cpu_emb) >= 0.9999, f"worst cosine {worst_cosine(gpu_emb, cpu_emb):.6f}")
        emb, backend, err = embed(tmp, "webgpu", {"WEBACCEL_GPU_LOSE_AFTER": "1"})
        check("embed lost: falls back", backend == "cpu" and "device lost" in err, backend)
        check("embed lost: = cpu for the rest", emb[1:] == cpu_emb[1:], "sentences after the loss match the CPU bit for bit")
        emb, backend, err = embed(tmp, "auto", {})  # CTest runs on lavapipe: a software adapter
        check("embed auto on a software adapter: cpu", backend == "cpu" and "software" in err, backend)
        emb, backend, err = embed(tmp, "webgpu", {"WEBACCEL_GPU_DISABLE": "1"})
        check("embed absent: = cpu", backend == "cpu" and emb == cpu_emb, backend)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
