#!/usr/bin/env python3
"""`webaccel quantize` / packages through the CLI on a tiny random llama model: every format loads
and runs; bad input gives the documented exit code and message and leaves no package behind."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_checks import FORMAT, INPUT, USAGE, Checks, run  # noqa: E402
from tiny_gguf import tiny_llama  # noqa: E402


def main():
    checks = Checks()
    check = checks.check

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        with open(model, "wb") as f:
            f.write(tiny_llama()[0])

        for bits in (2, 3, 4, 8):
            for group in (32, 64):
                out = os.path.join(tmp, f"q{bits}g{group}")
                stats = os.path.join(tmp, f"q{bits}g{group}.json")
                p = run(["quantize", "-m", model, "-o", out, "--bits", str(bits), "--group-size", str(group), "--stats", stats, "-t", "1"])
                ok = p.returncode == 0 and os.path.exists(os.path.join(out, "manifest.json"))
                if ok:
                    s = json.load(open(stats))
                    # exact accounting: matrices at bits + 32/group, norms stay f32
                    ok = abs(s["bits_per_layer"]["blk.0.ffn_up.weight"]["bits_per_weight"] - (bits + 32 / group)) < 1e-9
                    g = run(["generate", "-m", out, "--token-ids", "1 2 3", "-n", "4", "-q", "-t", "1"])
                    ok = ok and g.returncode == 0
                check(f"{bits}-bit group {group}: quantize, exact bits per weight, generate from the package", ok, p.stderr[-300:])

        cfg = os.path.join(tmp, "mixed.json")
        json.dump({"embedding": 8, "attention.query": 3, "attention.key": 3, "attention.value": 3, "feed_forward": 2,
                   "layer_norm": 8, "lm_head": 4}, open(cfg, "w"))
        out = os.path.join(tmp, "mixed")
        p = run(["quantize", "-m", model, "-o", out, "--mixed", cfg, "--group-size", "32", "--stats", out + ".json"])
        ok = p.returncode == 0
        if ok:
            per = json.load(open(out + ".json"))["bits_per_layer"]
            ok = per["blk.0.attn_q.weight"]["type"] == "WQ3_G32" and per["blk.0.ffn_down.weight"]["type"] == "WQ2_G32" \
                and per["token_embd.weight"]["type"] == "WQ4_G32"  # tied embeddings: lm_head wins
        check("the guide's mixed config maps onto llama tensor names", ok, p.stderr[-300:])

        def expect_error(name, args, rc, text, out_dir=None):
            checks.expect_error(name, args, rc, [text], [out_dir] if out_dir else [])

        bad_out = os.path.join(tmp, "bad")
        expect_error("unknown bit width", ["quantize", "-m", model, "-o", bad_out, "--bits", "5"], USAGE, "--bits", bad_out)
        expect_error("group size that does not divide a row", ["quantize", "-m", model, "-o", bad_out, "--group-size", "128"],
                     USAGE, "does not divide", bad_out)
        json.dump({"attention.nonexistent_pattern*": 4}, open(cfg, "w"))
        expect_error("config pattern that matches no tensor", ["quantize", "-m", model, "-o", bad_out, "--mixed", cfg],
                     INPUT, "matches no tensor", bad_out)
        calib = os.path.join(tmp, "calib.txt")
        open(calib, "w").write("<1><2><3><4><5><6><7><8><9><10><11><12><13><14><15><16><17><18><19><20>")
        expect_error("target bpw below what the formats reach",
                     ["quantize", "-m", model, "-o", bad_out, "--adaptive", "--target-bpw", "1.0", "--calibration", calib],
                     INPUT, "below what the formats can reach", bad_out)
        expect_error("adaptive without a target", ["quantize", "-m", model, "-o", bad_out, "--adaptive"], USAGE, "--target-bpw", bad_out)

        pkg = os.path.join(tmp, "q4g32")
        shard = os.path.join(pkg, "shard-00000.bin")
        data = bytearray(open(shard, "rb").read())
        data[len(data) // 2] ^= 0x5A
        open(shard, "wb").write(bytes(data))
        expect_error("corrupted package shard", ["generate", "-m", pkg, "--token-ids", "1", "-n", "1"], FORMAT, "checksum")
        open(shard, "wb").write(bytes(data[: len(data) // 2]))
        expect_error("truncated package shard", ["generate", "-m", pkg, "--token-ids", "1", "-n", "1"], FORMAT, "truncated")
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
