#!/usr/bin/env python3
"""BERT packages through the CLI on all-MiniLM-L6-v2: `quantize` writes a package, `embed`, `eval`
and `info` load it natively, and its sentence embeddings stay close to the f32 model's (8-bit:
every sentence's cosine >= 0.999; 4-bit: mean >= 0.95). A corrupted or truncated shard is an error
naming the shard and tensor, with a non-zero exit and no output written."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_checks import FORMAT, USAGE, Checks, cosine, run  # noqa: E402

MINILM = os.path.join(os.environ.get("WEBACCEL_MODELS_DIR", "models"), "minilm")
MIN_COSINE_8BIT = 0.999      # per sentence
MIN_MEAN_COSINE_4BIT = 0.95  # measured 0.96 (docs/benchmarks.md)
SENTENCES = ["The cat sits on the mat.", "A kitten rests on a rug.", "Stock markets fell sharply on Monday.",
             "Quantization stores each weight in fewer bits.", "Where is the nearest train station?",
             "She plays the violin in an orchestra.", "Photosynthesis turns light into chemical energy.",
             "The software licence grants you the freedom to share and change it."]


def embed(model, out):
    p = run(["embed", "-m", model, "-t", "2", "-o", out] + SENTENCES)
    return p, (json.load(open(out))["embeddings"] if p.returncode == 0 else None)


def main():
    checks = Checks()
    check, expect_error = checks.check, checks.expect_error
    with tempfile.TemporaryDirectory() as tmp:
        _, reference = embed(MINILM, os.path.join(tmp, "ref.json"))
        text = os.path.join(tmp, "sentences.txt")
        open(text, "w").write("\n".join(SENTENCES) + "\n")

        packages = {}
        for bits in (8, 4):
            pkg = os.path.join(tmp, f"minilm-q{bits}")
            stats = pkg + ".json"
            p = run(["quantize", "-m", MINILM, "-o", pkg, "--bits", str(bits), "--stats", stats, "-t", "2"])
            ok = p.returncode == 0 and os.path.exists(os.path.join(pkg, "manifest.json")) and not os.path.exists(pkg + ".partial")
            if ok:
                manifest = json.load(open(os.path.join(pkg, "manifest.json")))
                meta = manifest["metadata"]
                ok = meta["general.architecture"]["value"] == "bert" and len(meta["tokenizer.ggml.tokens"]["value"]) == 30522 \
                    and meta["tokenizer.wordpiece.lowercase"]["value"] is True \
                    and {t["name"] for t in manifest["tensors"]} == set(json.load(open(stats))["bits_per_layer"])
                packages[bits] = pkg
            check(f"{bits}-bit: quantize MiniLM to a package (manifest carries config, vocabulary, tokenizer options)", ok, p.stderr[-400:])

        if 8 in packages:
            p, got = embed(packages[8], os.path.join(tmp, "q8.json"))
            cos = [cosine(a, b) for a, b in zip(reference, got)] if got else []
            check(f"8-bit package: embed loads it; every cosine vs f32 >= {MIN_COSINE_8BIT} (min {min(cos, default=0):.5f})",
                  p.returncode == 0 and len(cos) == len(SENTENCES) and min(cos) >= MIN_COSINE_8BIT, p.stderr[-400:])
            p = run(["info", packages[8], "--no-tensors"])
            check("info reads the package", p.returncode == 0 and "bert.embedding_length" in p.stdout and "WQ8_G64" in p.stdout,
                  p.stderr[-300:])
        if 4 in packages:
            p = run(["eval", "-m", packages[4], "-r", MINILM, "--text", text, "-t", "2"])
            mean = json.loads(p.stdout)["mean_cosine"] if p.returncode == 0 else 0
            check(f"4-bit package: eval -r f32 gives mean cosine >= {MIN_MEAN_COSINE_4BIT} ({mean:.5f})",
                  p.returncode == 0 and mean >= MIN_MEAN_COSINE_4BIT, p.stderr[-400:])

        if 8 in packages:
            pkg = packages[8]
            p = run(["eval", "-m", pkg, "--text", text, "-t", "2"])
            check("eval without -r compares with the folder the package was quantized from",
                  p.returncode == 0 and json.loads(p.stdout)["reference"] == MINILM, p.stderr[-300:])
            moved = os.path.join(tmp, "moved-q8")
            os.rename(pkg, moved)
            manifest_path = os.path.join(moved, "manifest.json")
            manifest = json.load(open(manifest_path))
            manifest["quantization"]["source"] = os.path.join(tmp, "gone")
            json.dump(manifest, open(manifest_path, "w"))
            expect_error("eval without -r when that folder is gone", ["eval", "-m", moved, "--text", text], USAGE, ["-r"])
            os.rename(moved, pkg)
            manifest = json.load(open(os.path.join(pkg, "manifest.json")))
            victim = next(t for t in manifest["tensors"] if t["name"].endswith("layer.2.intermediate.dense.weight"))
            shard = os.path.join(pkg, manifest["shards"][victim["shard"]]["file"])
            data = bytearray(open(shard, "rb").read())
            data[victim["offset"] + victim["size"] // 2] ^= 0x5A
            open(shard, "wb").write(bytes(data))
            out_json, requant = os.path.join(tmp, "corrupt.json"), os.path.join(tmp, "from-corrupt")
            names = [os.path.basename(shard), victim["name"], "checksum"]
            expect_error("corrupted shard: embed names shard and tensor, writes nothing",
                         ["embed", "-m", pkg, "-o", out_json, "hello"], FORMAT, names, [out_json])
            expect_error("corrupted shard: eval fails the same way", ["eval", "-m", pkg, "-r", MINILM, "--text", text], FORMAT, names)
            expect_error("corrupted shard: quantize from it writes no package",
                         ["quantize", "-m", pkg, "-o", requant, "--bits", "4"], FORMAT, names, [requant])
            open(shard, "wb").write(bytes(data[: len(data) // 2]))
            expect_error("truncated shard: embed names the shard", ["embed", "-m", pkg, "-o", out_json, "hello"], FORMAT,
                         [os.path.basename(shard), "truncated"], [out_json])
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
