"""Writes tiny llama-architecture GGUF files (random F32 weights) for CLI error tests.

Standard library only, so the test suite needs no Python packages.
"""
import random
import struct

ALIGN = 32
T_U32, T_F32, T_STRING, T_ARRAY, T_BOOL = 4, 6, 8, 9, 7


def _str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _kv(key, vtype, value):
    out = _str(key) + struct.pack("<I", vtype)
    if vtype == T_U32:
        return out + struct.pack("<I", value)
    if vtype == T_F32:
        return out + struct.pack("<f", value)
    if vtype == T_BOOL:
        return out + struct.pack("<B", value)
    if vtype == T_STRING:
        return out + _str(value)
    if vtype == T_ARRAY:
        elem_type, items = value
        out += struct.pack("<IQ", elem_type, len(items))
        for it in items:
            out += _str(it) if elem_type == T_STRING else struct.pack("<i", it)
        return out
    raise ValueError(vtype)


def tiny_llama(n_embd=64, n_ff=128, n_layer=1, n_head=2, n_vocab=300, overrides=None):
    """Returns (bytes, tensor_offsets_field_positions) of a valid tiny model; overrides maps
    tensor name -> dict(shape=..., type=...) to make it invalid."""
    overrides = overrides or {}
    rng = random.Random(7)
    tokens = [f"<{i}>" for i in range(n_vocab)]
    kvs = [
        ("general.architecture", T_STRING, "llama"),
        ("llama.block_count", T_U32, n_layer),
        ("llama.context_length", T_U32, 256),
        ("llama.embedding_length", T_U32, n_embd),
        ("llama.feed_forward_length", T_U32, n_ff),
        ("llama.attention.head_count", T_U32, n_head),
        ("llama.attention.head_count_kv", T_U32, n_head),
        ("llama.attention.layer_norm_rms_epsilon", T_F32, 1e-5),
        ("tokenizer.ggml.model", T_STRING, "gpt2"),
        ("tokenizer.ggml.pre", T_STRING, "smollm"),
        ("tokenizer.ggml.tokens", T_ARRAY, (T_STRING, tokens)),
        ("tokenizer.ggml.merges", T_ARRAY, (T_STRING, [])),
        ("tokenizer.ggml.eos_token_id", T_U32, 0),
    ]
    shapes = [("token_embd.weight", [n_embd, n_vocab]), ("output_norm.weight", [n_embd])]
    for i in range(n_layer):
        b = f"blk.{i}."
        shapes += [(b + "attn_norm.weight", [n_embd]), (b + "attn_q.weight", [n_embd, n_embd]),
                   (b + "attn_k.weight", [n_embd, n_embd]), (b + "attn_v.weight", [n_embd, n_embd]),
                   (b + "attn_output.weight", [n_embd, n_embd]), (b + "ffn_norm.weight", [n_embd]),
                   (b + "ffn_gate.weight", [n_embd, n_ff]), (b + "ffn_up.weight", [n_embd, n_ff]),
                   (b + "ffn_down.weight", [n_ff, n_embd])]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(shapes), len(kvs))
    for k, t, v in kvs:
        header += _kv(k, t, v)
    data = b""
    offset_fields = {}
    for name, shape in shapes:
        o = overrides.get(name, {})
        shape = o.get("shape", shape)
        ttype = o.get("type", 0)
        header += _str(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        header += struct.pack("<I", ttype)
        offset_fields[name] = len(header)
        header += struct.pack("<Q", len(data))
        n = 1
        for d in shape:
            n *= d
        data += struct.pack(f"<{n}f", *[rng.uniform(-0.1, 0.1) for _ in range(n)])
        data += b"\0" * ((-len(data)) % ALIGN)
    header += b"\0" * ((-len(header)) % ALIGN)
    return header + data, offset_fields
