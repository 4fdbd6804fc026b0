"""WEBACCEL_CPU_SIMD is honoured (cpu/simd_width.h): at 128 the CPU kernels run Highway's 128-bit x86
target, the greedy tokens start the same and the prompt's logits stay close to the full-width run's
(different kernels: float order differs); a bad value exits with the usage code, naming the variable."""
import array
import json
import math
import os
import subprocess
import sys
import tempfile

from cli_checks import BIN, USAGE, Checks

MODEL = os.path.join(os.environ.get("WEBACCEL_MODELS_DIR", "models"), "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
NARROW = {"SSE4", "SSSE3", "SSE2", "EMU128", "SCALAR"}  # Highway's x86 targets of 128 bits or less
# Relative L2 distance of the prompt's logits. The full-width and 128-bit kernels sum in different
# orders, which moves SmolLM2's logits by a few percent (5.2% on this prompt, AVX3_DL vs SSE4); the
# wasm goldens allow 8.2% against llama.cpp (tests/browser/goldens.mjs).
MAX_REL_L2 = 0.08


def generate(simd, tmp):
    env = dict(os.environ)
    env.pop("WEBACCEL_CPU_SIMD", None)
    if simd is not None:
        env["WEBACCEL_CPU_SIMD"] = simd
    tag = simd or "default"
    out_json, out_logits = os.path.join(tmp, f"{tag}.json"), os.path.join(tmp, f"{tag}.logits")
    p = subprocess.run([BIN, "generate", "-m", MODEL, "-p", "The capital of France is", "--no-chat", "--temperature", "0",
                        "-n", "8", "-t", "1", "-q", "--json", out_json, "--dump-logits", out_logits],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 0:
        return p, None, None
    with open(out_json) as f:
        info = json.load(f)
    logits = array.array("f")
    with open(out_logits, "rb") as f:
        logits.frombytes(f.read())
    return p, info, logits


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        _, full, full_logits = generate(None, tmp)
        p, narrow, narrow_logits = generate("128", tmp)
        c.check("WEBACCEL_CPU_SIMD=128 runs", narrow is not None and full is not None, p.stderr[-300:])
        if narrow is None or full is None:
            return 1
        c.check(f"128-bit target chosen ({narrow['cpu_simd']}; default {full['cpu_simd']})", narrow["cpu_simd"] in NARROW,
                narrow["cpu_simd"])
        rel = math.sqrt(sum((a - b) ** 2 for a, b in zip(full_logits, narrow_logits)) / sum(a * a for a in full_logits))
        c.check(f"prompt logits close (rel L2 {rel:.2e} <= {MAX_REL_L2})", len(full_logits) == len(narrow_logits) and rel <= MAX_REL_L2)
        c.check("first greedy token the same", full["generated_tokens"][:1] == narrow["generated_tokens"][:1],
                f"{full['generated_tokens']} vs {narrow['generated_tokens']}")
        env = dict(os.environ, WEBACCEL_CPU_SIMD="64")
        bad = subprocess.run([BIN, "info", MODEL], capture_output=True, text=True, env=env, timeout=60)
        c.check("WEBACCEL_CPU_SIMD=64 is a usage error naming the variable",
                bad.returncode == USAGE and "WEBACCEL_CPU_SIMD=64" in bad.stderr, f"rc {bad.returncode}, {bad.stderr.strip()!r}")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
