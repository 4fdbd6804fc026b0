#!/usr/bin/env python3
"""Bad input through the CLI: each case must exit with the documented non-zero code, print an
error naming the file / tensor / field, leave no half-written output, and never crash."""
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_gguf import tiny_llama  # noqa: E402

BIN = os.environ["WEBACCEL_BIN"]
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", "models")
SMOLLM = os.path.join(MODELS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
USAGE, IO, FORMAT, INPUT = 2, 3, 4, 5


def run(args, expect_rc, expect_text, tmp):
    out_json = os.path.join(tmp, "out.json")
    if os.path.exists(out_json):
        os.remove(out_json)
    p = subprocess.run([BIN] + args + (["--json", out_json] if args[0] == "generate" else []),
                       capture_output=True, text=True, timeout=120)
    problems = []
    if p.returncode != expect_rc:
        problems.append(f"exit code {p.returncode}, expected {expect_rc}")
    if p.returncode < 0 or p.returncode >= 128:
        problems.append("crashed")
    if expect_text not in p.stderr:
        problems.append(f"stderr lacks {expect_text!r}")
    if os.path.exists(out_json + ".partial"):
        problems.append("left a partial output file behind")
    if expect_rc != 0 and os.path.exists(out_json):
        problems.append("wrote an output file despite the error")
    return problems, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        good, offsets = tiny_llama()
        cases = []

        def write(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        good_path = write("good.gguf", good)
        cases.append(("valid tiny model runs", ["generate", "-m", good_path, "--token-ids", "1 2 3", "-n", "2", "-q"], 0, "[webaccel]"))
        cases.append(("truncated file", ["generate", "-m", write("trunc.gguf", good[:len(good) // 3]), "-p", "hi"], FORMAT, "trunc.gguf"))
        flipped = bytearray(good)
        flipped[1] ^= 0xFF
        cases.append(("flipped header byte", ["generate", "-m", write("flip.gguf", bytes(flipped)), "-p", "hi"], FORMAT, "GGUF"))
        past = bytearray(good)
        struct.pack_into("<Q", past, offsets["blk.0.ffn_down.weight"], 1 << 40)
        cases.append(("tensor past end of file", ["generate", "-m", write("past.gguf", bytes(past)), "-p", "hi"], FORMAT, "past the end"))
        bad_shape, _ = tiny_llama(overrides={"blk.0.attn_q.weight": {"shape": [64, 32]}})
        cases.append(("shape contradicts hparams", ["generate", "-m", write("shape.gguf", bad_shape), "-p", "hi"], FORMAT, "blk.0.attn_q.weight"))
        bad_type, _ = tiny_llama(overrides={"blk.0.ffn_up.weight": {"type": 99}})
        cases.append(("unknown dtype", ["generate", "-m", write("dtype.gguf", bad_type), "-p", "hi"], FORMAT, "blk.0.ffn_up.weight"))
        cases.append(("missing file", ["generate", "-m", os.path.join(tmp, "nope.gguf"), "-p", "hi"], IO, "nope.gguf"))
        cases.append(("empty prompt", ["generate", "-m", good_path, "-p", ""], INPUT, "prompt is empty"))
        cases.append(("prompt longer than context", ["generate", "-m", good_path, "--token-ids", " ".join(["5"] * 40), "-c", "16", "-n", "1"], INPUT, "context"))
        cases.append(("unknown flag", ["generate", "--no-such-flag"], USAGE, "no-such-flag"))
        cases.append(("bad top-p", ["generate", "-m", good_path, "-p", "hi", "--top-p", "0"], USAGE, "--top-p"))
        cases.append(("embed with no texts", ["embed", "-m", os.path.join(MODELS, "minilm")], INPUT, "no texts"))
        cases.append(("embed missing model folder", ["embed", "-m", os.path.join(tmp, "nomodel"), "hello"], IO, "config.json"))
        # convert writes to the path run() checks for leftovers (out.json: partial files, output on error).
        out = os.path.join(tmp, "out.json")
        cases.append(("convert tiny model to f32", ["convert", "-m", good_path, "--to", "f32", "-o", out], 0, "[webaccel]"))
        cases.append(("convert missing input", ["convert", "-m", os.path.join(tmp, "nope.gguf"), "-o", out], IO, "nope.gguf"))
        cases.append(("convert truncated input", ["convert", "-m", os.path.join(tmp, "trunc.gguf"), "-o", out], FORMAT, "trunc.gguf"))
        cases.append(("convert unwritable output", ["convert", "-m", good_path, "-o", os.path.join(tmp, "nodir", "x.gguf")], IO,
                      os.path.join("nodir", "x.gguf")))
        cases.append(("convert unknown --to", ["convert", "-m", good_path, "--to", "q4", "-o", out], USAGE, "--to"))
        if os.path.exists(SMOLLM):
            cases.append(("real model, prompt longer than context", ["generate", "-m", SMOLLM, "-p", "word " * 300, "--no-chat", "-c", "64"], INPUT, "context"))

        for name, args, rc, text in cases:
            problems, last = run(args, rc, text, tmp)
            failures += bool(problems)
            print(f"{'ok  ' if not problems else 'FAIL'} {name:<40} {last[:110]}" + ("" if not problems else f"  <- {'; '.join(problems)}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
