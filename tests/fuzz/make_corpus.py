#!/usr/bin/env python3
"""Writes the seed corpora for the fuzz targets: a few tiny valid GGUF and safetensors files.

Usage: python3 tests/fuzz/make_corpus.py   (writes tests/fuzz/corpus/{gguf,safetensors}/)
Standard library only; the files are deterministic so rerunning gives identical bytes.
"""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"

# GGUF value type ids and tensor type ids (block elements, block bytes).
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20), "Q8_0": (8, 32, 34),
        "BF16": (30, 1, 2)}
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
              U64: "<Q", I64: "<q", F64: "<d"}


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        elem_type, items = value
        out = struct.pack("<IQ", elem_type, len(items))
        return out + b"".join(gguf_value(elem_type, x) for x in items)
    return struct.pack(SCALAR_FMT[vtype], value)


def gguf(kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, shape, type name)], data is a byte pattern."""
    def align(n):
        return (n + alignment - 1) // alignment * alignment

    out = struct.pack("<4sIQQ", b"GGUF", 3, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    blobs, offset = [], 0
    for name, shape, tname in tensors:
        type_id, block_elems, block_bytes = GGML[tname]
        n = 1
        for d in shape:
            n *= d
        size = n // block_elems * block_bytes
        out += gguf_string(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *shape)
        out += struct.pack("<IQ", type_id, offset)
        blobs.append(bytes((i * 37 + len(blobs)) & 0xFF for i in range(size)))
        offset = align(offset + size)
    out += b"\0" * (align(len(out)) - len(out))
    for i, blob in enumerate(blobs):
        if i:
            out += b"\0" * (align(len(out)) - len(out))
        out += blob
    return out


def safetensors(entries, metadata=None):
    """entries: [(name, dtype, shape, element bytes)]; data laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, elem_bytes in entries:
        n = 1
        for d in shape:
            n *= d
        blob = bytes((i * 41 + len(header)) & 0xFF for i in range(n * elem_bytes))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    gguf_seeds = {
        "kv_only.gguf": gguf([("general.architecture", STRING, "llama")], []),
        "all_value_types.gguf": gguf(
            [("general.architecture", STRING, "llama"), ("general.alignment", U32, 32), ("t.u8", U8, 7),
             ("t.i8", I8, -7), ("t.u16", U16, 700), ("t.i16", I16, -700), ("t.i32", I32, -70000),
             ("t.f32", F32, 0.5), ("t.bool", BOOL, True), ("t.u64", U64, 1 << 40), ("t.i64", I64, -(1 << 40)),
             ("t.f64", F64, 2.5), ("tokenizer.ggml.tokens", ARRAY, (STRING, ["a", "<s>", ""])),
             ("tokenizer.ggml.token_type", ARRAY, (I32, [1, 3, 1])), ("t.f32s", ARRAY, (F32, [1.0, 2.0]))],
            [("token_embd.weight", [32, 2], "Q8_0"), ("output_norm.weight", [4], "F32")]),
        "quant_types.gguf": gguf(
            [("general.architecture", STRING, "llama"), ("llama.block_count", U32, 1)],
            [("blk.0.attn_q.weight", [32, 2], "Q4_0"), ("blk.0.attn_k.weight", [32, 1], "Q4_1"),
             ("blk.0.attn_norm.weight", [3], "F16"), ("blk.0.ffn_norm.weight", [2, 1, 1, 2], "BF16")]),
        "align64.gguf": gguf([("general.alignment", U32, 64)], [("a", [5], "F32"), ("b", [2], "F32")], alignment=64),
    }
    st_seeds = {
        "float_types.safetensors": safetensors(
            [("a", "F32", [2, 3], 4), ("b", "F16", [4], 2), ("c", "BF16", [2], 2)], {"format": "pt"}),
        "skipped_int.safetensors": safetensors(
            [("embeddings.position_ids", "I64", [1, 4], 8), ("embeddings.LayerNorm.weight", "F32", [4], 4)]),
        "scalar_and_empty.safetensors": safetensors([("s", "F32", [], 4), ("z", "F16", [0, 3], 2)]),
        "empty.safetensors": safetensors([]),
    }
    for sub, seeds in (("gguf", gguf_seeds), ("safetensors", st_seeds)):
        (ROOT / sub).mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            assert len(data) < 4096, name
            (ROOT / sub / name).write_bytes(data)
            print(f"{sub}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
