#!/usr/bin/env python3
"""Applies a unified diff of src/gpu/wgsl files (bench/gpu/variants/*.patch) to copies in OUT_DIR,
for WEBACCEL_WGSL_DIR. Python rather than patch(1): GPU machines may lack it.
  apply_wgsl_patch.py VARIANT.patch SRC_DIR OUT_DIR"""
import os
import re
import sys


def apply(lines, hunks, name):
    out, at = [], 0
    for old_start, body in hunks:
        old = [l[1:] for l in body if l[:1] in (" ", "-")]
        new = [l[1:] for l in body if l[:1] in (" ", "+")]
        start = old_start - 1
        if lines[start:start + len(old)] != old:
            sys.exit(f"apply_wgsl_patch: {name}: hunk at line {old_start} does not match the source")
        out += lines[at:start] + new
        at = start + len(old)
    return out + lines[at:]


def main():
    patch, src, out = sys.argv[1:4]
    files, current = {}, None
    for line in open(patch).read().splitlines():
        if line.startswith("+++ b/"):
            current = files.setdefault(line[6:], [])
        elif line.startswith("--- "):
            continue
        elif m := re.match(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", line):
            current.append((int(m.group(1)), []))
        elif current is not None and current:
            current[-1][1].append(line if line else " ")
    os.makedirs(out, exist_ok=True)
    for name, hunks in files.items():
        lines = open(os.path.join(src, name)).read().splitlines()
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join(apply(lines, hunks, name)) + "\n")


main()
