#!/usr/bin/env python3
"""llama.cpp's BERT GGUF layout through the CLI: all-MiniLM-L6-v2 written by
bench/quant/minilm_gguf.py (llama.cpp's tensor names, metadata keys and phantom-space vocabulary,
the converter the MiniLM quality table's llama.cpp rows come from) is loaded natively by `eval`,
`embed` and `quantize`. F32: the same embeddings as the sentence-transformers folder; some matrices
in llama.cpp's Q8_0 (webaccel's direct kernel) and Q5_0 (dequantized a tile at a time, the path of
the K-quants): still close. A missing tensor, a pooling other than mean and a causal flag are
errors naming the tensor or key. Standard library only (the Q8_0 and Q5_0 blocks are written here
as ggml's reference quantizers write them)."""
import array
import json
import math
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "quant"))
from cli_checks import FORMAT, Checks, cosine, run  # noqa: E402
import minilm_gguf  # noqa: E402

MINILM = os.path.join(os.environ.get("WEBACCEL_MODELS_DIR", "models"), "minilm")
SENTENCES = ["The cat sits on the mat.", "A kitten rests on a rug.", "Stock markets fell sharply on Monday.",
             "Quantization stores each weight in fewer bits.", "Where is the nearest train station?",
             "Naïve café owners in São Paulo and 東京 write résumés!", "Photosynthesis turns light into chemical energy."]
GGML_Q5_0, GGML_Q8_0 = 6, 8


def q8_0(values):
    """ggml's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d)."""
    out = bytearray()
    for b in range(0, len(values), 32):
        x = values[b:b + 32]
        d = max(abs(v) for v in x) / 127.0
        inv = 1.0 / d if d else 0.0
        out += struct.pack("<e", d) + struct.pack("<32b", *(int(math.floor(v * inv + 0.5)) if v >= 0 else -int(math.floor(-v * inv + 0.5)) for v in x))
    return bytes(out)


def q5_0(values):
    """ggml's quantize_row_q5_0_ref: d = (the value of largest magnitude) / -16, 5-bit codes q + 16."""
    out = bytearray()
    for b in range(0, len(values), 32):
        x = values[b:b + 32]
        peak = max(x, key=abs)
        d = peak / -16.0
        inv = 1.0 / d if d else 0.0
        qh, qs = 0, bytearray(16)
        for j in range(16):
            lo, hi = min(31, int(x[j] * inv + 16.5)), min(31, int(x[16 + j] * inv + 16.5))
            qs[j] = (lo & 0x0F) | ((hi & 0x0F) << 4)
            qh |= ((lo & 0x10) >> 4) << j
            qh |= ((hi & 0x10) >> 4) << (j + 16)
        out += struct.pack("<eI", d, qh) + qs
    return bytes(out)


def encode_some(name, shape, data):
    """attn_q of every block as Q8_0, ffn_down of blocks 0 and 1 as Q5_0; the rest F32."""
    if name.endswith("attn_q.weight"):
        return GGML_Q8_0, q8_0(array.array("f", data))
    if name in ("blk.0.ffn_down.weight", "blk.1.ffn_down.weight"):
        return GGML_Q5_0, q5_0(array.array("f", data))
    return None


def main():
    checks = Checks()
    check, expect_error = checks.check, checks.expect_error
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "sentences.txt")
        open(text, "w", encoding="utf-8").write("\n".join(SENTENCES) + "\n")
        f32 = minilm_gguf.convert(MINILM, os.path.join(tmp, "minilm-f32.gguf"))

        def evaluate(model, ref=MINILM):
            p = run(["eval", "-m", model] + (["-r", ref] if ref else []) + ["--text", text, "-t", "2"])
            return p, (json.loads(p.stdout) if p.returncode == 0 else {})

        p, j = evaluate(f32)
        check(f"F32 GGUF (llama.cpp layout): eval -r folder, mean cosine {j.get('mean_cosine', 0):.7f} >= 0.999999 over "
              f"{j.get('sentences', 0)} sentences", p.returncode == 0 and j["mean_cosine"] >= 0.999999 and j["sentences"] == len(SENTENCES),
              p.stderr[-400:])
        p_ref = run(["embed", "-m", MINILM, "-t", "2", "-o", os.path.join(tmp, "ref.json")] + SENTENCES)
        p = run(["embed", "-m", f32, "-t", "2", "-o", os.path.join(tmp, "gguf.json")] + SENTENCES)
        ok = p.returncode == 0 and p_ref.returncode == 0
        diff = 1.0
        if ok:
            ref = json.load(open(os.path.join(tmp, "ref.json")))["embeddings"]
            got = json.load(open(os.path.join(tmp, "gguf.json")))["embeddings"]
            diff = max(abs(x - y) for a, b in zip(ref, got) for x, y in zip(a, b))
        check(f"F32 GGUF: embed gives the folder's embeddings (largest difference {diff:.2e} <= 1e-6)", ok and diff <= 1e-6,
              (p.stderr + p_ref.stderr)[-400:])

        mixed = minilm_gguf.convert(MINILM, os.path.join(tmp, "minilm-q8-q5.gguf"), encode=encode_some)
        p, j = evaluate(mixed)
        check(f"Q8_0 attn_q + Q5_0 ffn_down (blocks 0, 1): mean cosine {j.get('mean_cosine', 0):.6f} >= 0.999",
              p.returncode == 0 and 0.999 <= j["mean_cosine"] < 1.0, p.stderr[-400:])

        pkg = os.path.join(tmp, "from-gguf-q8")
        p = run(["quantize", "-m", f32, "-o", pkg, "--bits", "8", "-t", "2"])
        check("quantize reads the GGUF and writes a package", p.returncode == 0 and os.path.exists(os.path.join(pkg, "manifest.json")),
              p.stderr[-400:])
        if p.returncode == 0:
            p, j = evaluate(pkg, ref=None)
            check(f"that package: eval against the GGUF it came from, mean cosine {j.get('mean_cosine', 0):.6f} >= 0.999",
                  p.returncode == 0 and j["reference"] == f32 and j["mean_cosine"] >= 0.999, p.stderr[-400:])

        missing = minilm_gguf.convert(MINILM, os.path.join(tmp, "missing.gguf"), drop={"blk.3.ffn_down.weight"})
        expect_error("GGUF without blk.3.ffn_down.weight: eval names the tensor and the layout",
                     ["eval", "-m", missing, "-r", MINILM, "--text", text], FORMAT, ["blk.3.ffn_down.weight", "is missing", "llama.cpp"])
        out_json = os.path.join(tmp, "missing.json")
        expect_error("the same file: embed fails the same way and writes nothing",
                     ["embed", "-m", missing, "-o", out_json, "hello"], FORMAT, ["blk.3.ffn_down.weight"], [out_json])
        cls = minilm_gguf.convert(MINILM, os.path.join(tmp, "cls.gguf"), metadata_override={"bert.pooling_type": (minilm_gguf.U32, 2)})
        expect_error("CLS pooling (bert.pooling_type 2) is refused, naming the key",
                     ["embed", "-m", cls, "hello"], FORMAT, ["bert.pooling_type", "mean"])
        causal = minilm_gguf.convert(MINILM, os.path.join(tmp, "causal.gguf"), metadata_override={"bert.attention.causal": (minilm_gguf.BOOL, True)})
        expect_error("bert.attention.causal true is refused", ["embed", "-m", causal, "hello"], FORMAT, ["bert.attention.causal"])
        no_count = minilm_gguf.convert(MINILM, os.path.join(tmp, "no-count.gguf"),
                                       metadata_override={"tokenizer.ggml.token_type_count": None, "bert.pooling_type": None})
        p, j = evaluate(no_count)
        check("without token_type_count and pooling_type: token types from the tensor, mean pooling",
              p.returncode == 0 and j["mean_cosine"] >= 0.999999, p.stderr[-300:])
    print(f"{len(SENTENCES)} sentences; {checks.failures} failed")
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
