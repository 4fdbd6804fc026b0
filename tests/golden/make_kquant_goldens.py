#!/usr/bin/env python3
"""Writes tests/golden/kquants.bin: K-quant blocks and their dequantization by the `gguf` package.

The C++ reference (src/cpu/kquants_reference.cpp) must reproduce these floats bit for bit.
gguf 0.19 can dequantize but not quantize the K types, so the blocks are random bytes (every
bit pattern of scales and quants gets exercised) with fp16 d/dmin set to magnitudes a quantizer
would pick for a normal(0, 0.1) row with outliers; the last block of each type carries a
negative subnormal d and a negative dmin to cover sign and subnormal handling.

Run: /tmp/gg/bin/python tests/golden/make_kquant_goldens.py   (needs numpy and gguf)

File format (little-endian): b"WAKQ", u32 version=1, u32 record count, then per record
u32 ggml type id, u32 rows, u32 elements per row, u32 bytes per row,
rows * bytes-per-row quantized bytes, rows * elements-per-row float32 expected values.
"""

import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

ROWS, COLS = 2, 512
QK_K = 256

# type: (byte offset of d, byte offset of dmin or None, d divisor, dmin divisor)
# Divisors are (largest sub-block scale) * (largest quant), so d * scale * q spans the data.
LAYOUTS = {
    T.Q2_K: (80, 82, 15 * 3, 15),
    T.Q3_K: (108, None, 32 * 4, None),
    T.Q4_K: (0, 2, 63 * 15, 63),
    T.Q5_K: (0, 2, 63 * 31, 63),
    T.Q6_K: (208, None, 127 * 32, None),
}


def put_half(block: np.ndarray, offset: int, value: float) -> None:
    block[offset:offset + 2] = np.frombuffer(np.float16(value).tobytes(), dtype=np.uint8)


def make_record(rng: np.random.Generator, qtype: T) -> bytes:
    _, type_size = GGML_QUANT_SIZES[qtype]
    d_off, dmin_off, d_div, dmin_div = LAYOUTS[qtype]
    x = rng.normal(size=(ROWS, COLS)).astype(np.float32) * 0.1
    x[rng.random(size=x.shape) < 0.01] *= 30.0  # a few outliers, as real weights have
    blocks = rng.integers(0, 256, size=(ROWS * COLS // QK_K, type_size), dtype=np.uint8)
    for i, xb in enumerate(x.reshape(-1, QK_K)):
        put_half(blocks[i], d_off, np.abs(xb).max() / d_div)
        if dmin_off is not None:
            put_half(blocks[i], dmin_off, -xb.min() / dmin_div)
    put_half(blocks[-1], d_off, -3.0e-6)  # fp16 subnormal (< 6.1e-5), negative
    if dmin_off is not None:
        put_half(blocks[-1], dmin_off, -0.01)
    raw = blocks.reshape(ROWS, -1)
    expected = dequantize(raw, qtype).astype(np.float32)
    assert expected.shape == (ROWS, COLS) and np.isfinite(expected).all()
    header = struct.pack("<4I", int(qtype), ROWS, COLS, raw.shape[1])
    return header + raw.tobytes() + expected.astype("<f4").tobytes()


def main() -> None:
    rng = np.random.default_rng(1234)
    records = [make_record(rng, qtype) for qtype in LAYOUTS]
    out = pathlib.Path(__file__).with_name("kquants.bin")
    out.write_bytes(b"WAKQ" + struct.pack("<2I", 1, len(records)) + b"".join(records))
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(records)} types)")


if __name__ == "__main__":
    main()
