#!/usr/bin/env python3
"""Splits a free English text shipped by Debian into non-overlapping calibration and evaluation
parts: /usr/share/common-licenses/GPL-3 (package base-files, on every Debian system).
The first quarter (cut at a paragraph break) calibrates; the rest evaluates."""
import os
import sys

SOURCE = "/usr/share/common-licenses/GPL-3"
out_dir = sys.argv[1] if len(sys.argv) > 1 else "build/quant"
os.makedirs(out_dir, exist_ok=True)
text = open(SOURCE, encoding="utf-8").read()
cut = text.index("\n\n", len(text) // 4) + 2
open(os.path.join(out_dir, "calibration.txt"), "w").write(text[:cut])
open(os.path.join(out_dir, "evaluation.txt"), "w").write(text[cut:])
print(f"{SOURCE}: calibration {cut} chars, evaluation {len(text) - cut} chars -> {out_dir}/")
