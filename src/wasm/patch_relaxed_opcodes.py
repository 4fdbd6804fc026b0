#!/usr/bin/env python3
"""Rewrites the stand-in instructions of the relaxed-SIMD build into the final relaxed ops.

Debian's Emscripten 3.1.6 pairs clang 14 and binaryen 108, which know only the 2022 prototype of
relaxed SIMD: prototype opcodes (no browser accepts them) and no int8 dot product. So the kernels
(src/cpu/wasm_relaxed_ops.h) write f32x4.fma for relaxed_madd, f64x2.fma for
i32x4.relaxed_dot_i8x16_i7x16_add_s and f64x2.relaxed_min for i16x8.relaxed_dot_i8x16_i7x16_s:
each takes as many v128 operands as its target, returns one, encodes in 3 bytes like it, and the
toolchain carries them through untouched. This script, run on
the linked .wasm, finds every instruction with llvm-objdump (no byte-pattern guessing) and swaps
the opcode in place. Any other prototype relaxed instruction is an error: no engine would load it.

usage: patch_relaxed_opcodes.py MODULE.wasm [--objdump llvm-objdump-14]
"""
import argparse
import re
import subprocess
import sys

# prototype mnemonic (clang 14) -> (its bytes, final opcode bytes): fd 0x105 and fd 0x113 as LEB128.
REWRITES = {
    "f32x4.fma": (bytes([0xFD, 0xAF, 0x01]), bytes([0xFD, 0x85, 0x02])),  # f32x4.relaxed_madd
    "f64x2.fma": (bytes([0xFD, 0xCF, 0x01]), bytes([0xFD, 0x93, 0x02])),  # i32x4.relaxed_dot_i8x16_i7x16_add_s
    "f64x2.relaxed_min": (bytes([0xFD, 0xD4, 0x01]), bytes([0xFD, 0x92, 0x02])),  # i16x8.relaxed_dot_i8x16_i7x16_s
}
PROTOTYPE_ONLY = re.compile(r"\b(f32x4\.fms|f64x2\.fms|\w+\.laneselect|\w+\.relaxed_\w+)\b")
LINE = re.compile(r"^\s*([0-9a-f]+):((?: [0-9a-f]{2})+)\s+(\S+)")


def read_leb(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def code_section_payload(data):
    """File offset where the code section's payload starts (llvm-objdump's offset 0)."""
    if data[:4] != b"\0asm":
        sys.exit("not a wasm module")
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        size, payload = read_leb(data, pos + 1)
        if section_id == 10:
            return payload
        pos = payload + size
    sys.exit("no code section")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("module")
    parser.add_argument("--objdump", default="llvm-objdump-14")
    args = parser.parse_args()
    data = bytearray(open(args.module, "rb").read())
    base = code_section_payload(data)
    listing = subprocess.run([args.objdump, "-d", args.module], check=True, capture_output=True, text=True).stdout
    counts = {name: 0 for name in REWRITES}
    for line in listing.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        mnemonic = m.group(3)
        if mnemonic in REWRITES:
            old, new = REWRITES[mnemonic]
            at = base + int(m.group(1), 16)
            if bytes(data[at:at + 3]) != old:
                sys.exit(f"{mnemonic} at code offset {m.group(1)}: bytes {data[at:at + 3].hex()}, expected {old.hex()}")
            data[at:at + 3] = new
            counts[mnemonic] += 1
        elif PROTOTYPE_ONLY.search(mnemonic) or mnemonic == "<unknown>":
            sys.exit(f"{args.module}: {mnemonic} at code offset {m.group(1)} has no final relaxed-SIMD encoding here")
    if not all(counts.values()):
        sys.exit(f"{args.module}: expected every stand-in, found {counts} (kernels not built with relaxed SIMD?)")
    open(args.module, "wb").write(data)
    print(f"{args.module}: rewrote " + ", ".join(f"{n} x {name}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
