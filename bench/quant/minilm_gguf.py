#!/usr/bin/env python3
"""all-MiniLM-L6-v2 as llama.cpp reads a BERT: an F32 GGUF with llama.cpp's bert tensor names,
metadata keys and phantom-space WordPiece vocabulary (as its convert_hf_to_gguf.py writes them), and
llama.cpp's own quantizations of that file through llama-cpp-python's quantize API.

The conversion and `describe` use the standard library only (the CLI tests convert with it:
tests/cli/check_bert_gguf.py); `quantize` and `check` need .venv-peers (scripts/setup-peers).

  python3 bench/quant/minilm_gguf.py convert [-m models/minilm] -o build/quant/minilm-f32.gguf
  .venv-peers/bin/python bench/quant/minilm_gguf.py quantize -i build/quant/minilm-f32.gguf -o OUT.gguf --type Q4_K_M
  .venv-peers/bin/python bench/quant/minilm_gguf.py check -i build/quant/minilm-f32.gguf [--text build/quant/evaluation.txt]
  python3 bench/quant/minilm_gguf.py describe FILE.gguf     (tensor types, bits per weight)

`check` embeds sentences with llama.cpp (llama-cpp-python, embedding=True, the file's mean pooling,
normalised) and with sentence-transformers from the folder, and prints the cosine of each pair and
whether llama.cpp's WordPiece token ids equal the Hugging Face tokenizer's."""
import argparse
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# GGUF value types and the ggml tensor types this file reads or writes: (elements, bytes) per block.
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9
GGML_BLOCKS = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
               7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
               12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 20: ("IQ4_NL", 32, 18),
               23: ("IQ4_XS", 256, 136), 30: ("BF16", 1, 2)}
ALIGNMENT = 32

# llama.h enum llama_ftype, for the quantize API.
FTYPES = {"Q8_0": 7, "Q4_0": 2, "Q4_K_M": 15, "Q3_K_S": 11, "Q2_K": 10, "Q4_K_S": 14, "Q5_K_M": 17, "Q6_K": 18}

# sentence-transformers (Hugging Face BertModel) names -> llama.cpp's bert names (gguf-py's
# tensor_mapping for MODEL_ARCH.BERT). The pooler and position_ids are not read by llama.cpp.
EMBEDDING_NAMES = {"embeddings.word_embeddings": "token_embd", "embeddings.position_embeddings": "position_embd",
                   "embeddings.token_type_embeddings": "token_types", "embeddings.LayerNorm": "token_embd_norm"}
LAYER_NAMES = {"attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
               "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
               "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"}
SKIPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")
# tokenizer.ggml.token_type values (llama.h llama_token_type)
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED = 1, 3, 4


def llama_cpp_name(hf_name):
    """The llama.cpp bert tensor name for a sentence-transformers one, or None if llama.cpp has none."""
    name = hf_name[5:] if hf_name.startswith("bert.") else hf_name
    if name in SKIPPED:
        return None
    stem, _, kind = name.rpartition(".")  # kind: weight or bias
    if stem in EMBEDDING_NAMES:
        return f"{EMBEDDING_NAMES[stem]}.{kind}"
    parts = stem.split(".", 3)  # encoder, layer, i, rest
    if len(parts) == 4 and parts[:2] == ["encoder", "layer"] and parts[3] in LAYER_NAMES:
        return f"blk.{int(parts[2])}.{LAYER_NAMES[parts[3]]}.{kind}"
    raise ValueError(f"tensor '{hf_name}' has no llama.cpp bert name")


def read_safetensors(path):
    """name -> (shape, raw little-endian F32 bytes); other dtypes are refused (MiniLM is F32)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or name in SKIPPED or name.startswith("bert.") and name[5:] in SKIPPED:
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor '{name}' is {info['dtype']}; this converter reads F32")
        begin, end = info["data_offsets"]
        out[name] = (info["shape"], data[begin:end])
    return out


def phantom_vocab(model_dir):
    """vocab.txt as llama.cpp's BERT converter stores it: special tokens as they are, a word-start
    piece with U+2581 in front, a continuation piece ("##x") without its "##"; and the token types."""
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\r\n") for line in f]
    if vocab and vocab[-1] == "":
        vocab.pop()
    added = {}
    tok_json = os.path.join(model_dir, "tokenizer.json")
    if os.path.exists(tok_json):
        added = {t["id"]: t for t in json.load(open(tok_json, encoding="utf-8")).get("added_tokens", [])}
    tokens, types = [], []
    for i, tok in enumerate(vocab):
        if i in added and added[i].get("special"):
            tokens.append(tok)
            types.append(TOKEN_CONTROL)
            continue
        types.append(TOKEN_USER_DEFINED if i in added else TOKEN_NORMAL)
        tokens.append(tok[2:] if tok.startswith("##") else "\u2581" + tok)
    return vocab, tokens, types


def special_token_ids(model_dir, vocab):
    """The ids llama.cpp's converter writes for a BERT tokenizer (gguf-py SpecialVocab): [CLS] is
    both bos and cls, [SEP] both eos and sep."""
    cfg = {}
    path = os.path.join(model_dir, "tokenizer_config.json")
    if os.path.exists(path):
        cfg = json.load(open(path, encoding="utf-8"))
    index = {t: i for i, t in enumerate(vocab)}
    ids = {}
    for key, field, default in (("bos", "cls_token", "[CLS]"), ("eos", "sep_token", "[SEP]"), ("unknown", "unk_token", "[UNK]"),
                                ("seperator", "sep_token", "[SEP]"), ("padding", "pad_token", "[PAD]"),
                                ("mask", "mask_token", "[MASK]")):
        tok = cfg.get(field, default)
        tok = tok["content"] if isinstance(tok, dict) else tok
        if tok in index:
            ids[key] = index[tok]
    return ids


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value):
    if vtype == U32:
        return struct.pack("<I", value)
    if vtype == I32:
        return struct.pack("<i", value)
    if vtype == F32:
        return struct.pack("<f", value)
    if vtype == BOOL:
        return struct.pack("<B", 1 if value else 0)
    if vtype == STRING:
        return _string(value)
    if vtype == ARRAY:
        elem, items = value
        return struct.pack("<IQ", elem, len(items)) + b"".join(_value(elem, v) for v in items)
    raise ValueError(vtype)


def write_gguf(path, metadata, tensors):
    """GGUF v3: metadata [(key, type, value)], tensors [(name, row-major shape, ggml type id, bytes)]."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    head += b"".join(_string(k) + struct.pack("<I", t) + _value(t, v) for k, t, v in metadata)
    offset = 0
    infos, blobs = [], []
    for name, shape, ggml_type, data in tensors:
        dims = list(reversed(shape))  # GGUF order: the contiguous dimension first
        infos.append(_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) +
                     struct.pack("<IQ", ggml_type, offset))
        pad = -len(data) % ALIGNMENT
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head += b"".join(infos)
    head += b"\0" * (-len(head) % ALIGNMENT)
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def convert(model_dir, out, drop=(), encode=None, metadata_override=None):
    """Writes model_dir (a sentence-transformers BERT folder, F32 safetensors) as llama.cpp's BERT
    GGUF. drop: llama.cpp tensor names to leave out (tests); encode(name, shape, f32_bytes) may
    return (ggml type id, bytes) to store a tensor in another type (tests), or None for F32;
    metadata_override: key -> (type, value), None removes the key (tests)."""
    config = json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise ValueError(f"{model_dir}/config.json: model_type is not 'bert'")
    vocab, tokens, token_types = phantom_vocab(model_dir)
    if len(vocab) != config["vocab_size"]:
        raise ValueError(f"{model_dir}/vocab.txt: {len(vocab)} tokens, config.json says {config['vocab_size']}")
    pooling = json.load(open(os.path.join(model_dir, "1_Pooling", "config.json"))) \
        if os.path.exists(os.path.join(model_dir, "1_Pooling", "config.json")) else {"pooling_mode_mean_tokens": True}
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError(f"{model_dir}/1_Pooling/config.json: only mean pooling is converted")
    name = os.path.basename(os.path.normpath(model_dir))
    meta = [("general.architecture", STRING, "bert"), ("general.type", STRING, "model"), ("general.name", STRING, name),
            ("bert.block_count", U32, config["num_hidden_layers"]), ("bert.context_length", U32, config["max_position_embeddings"]),
            ("bert.embedding_length", U32, config["hidden_size"]), ("bert.feed_forward_length", U32, config["intermediate_size"]),
            ("bert.attention.head_count", U32, config["num_attention_heads"]),
            ("bert.attention.layer_norm_epsilon", F32, config.get("layer_norm_eps", 1e-12)),
            ("general.file_type", U32, 0),  # LLAMA_FTYPE_ALL_F32
            ("bert.attention.causal", BOOL, False), ("bert.pooling_type", U32, 1),  # LLAMA_POOLING_TYPE_MEAN
            ("tokenizer.ggml.token_type_count", U32, config.get("type_vocab_size", 1)),
            ("tokenizer.ggml.model", STRING, "bert"),
            # The name convert_hf_to_gguf.py gives the bert-base-uncased WordPiece pre-tokenizer
            # (bge-small-en-v1.5's); llama.cpp's WPM tokenizer does not branch on it.
            ("tokenizer.ggml.pre", STRING, "bert-bge"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)), ("tokenizer.ggml.token_type", ARRAY, (I32, token_types))]
    meta += [(f"tokenizer.ggml.{k}_token_id", U32, v) for k, v in special_token_ids(model_dir, vocab).items()]
    meta += [("tokenizer.ggml.add_bos_token", BOOL, True), ("tokenizer.ggml.add_eos_token", BOOL, True),
             ("tokenizer.ggml.add_sep_token", BOOL, False), ("general.quantization_version", U32, 2)]
    for key, tv in (metadata_override or {}).items():
        meta = [m for m in meta if m[0] != key] + ([(key, tv[0], tv[1])] if tv is not None else [])
    tensors = []
    for hf_name, (shape, data) in read_safetensors(os.path.join(model_dir, "model.safetensors")).items():
        gname = llama_cpp_name(hf_name)
        if gname is None or gname in drop:
            continue
        stored = encode(gname, shape, data) if encode else None
        tensors.append((gname, shape) + (stored if stored else (0, data)))
    write_gguf(out, meta, tensors)
    return out


def _read_value(f, vtype):
    fmt = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}
    if vtype == STRING:
        n = struct.unpack("<Q", f.read(8))[0]
        return f.read(n).decode("utf-8", "replace")
    if vtype == ARRAY:
        elem, n = struct.unpack("<IQ", f.read(12))
        return [_read_value(f, elem) for _ in range(n)]
    s = struct.Struct(fmt[vtype])
    return s.unpack(f.read(s.size))[0]


def read_gguf(path):
    """(metadata dict, [(name, row-major shape, type name, bytes)]) of a GGUF file."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        _, n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
        meta = {}
        for _ in range(n_kv):
            key = _read_value(f, STRING)
            meta[key] = _read_value(f, struct.unpack("<I", f.read(4))[0])
        tensors = []
        for _ in range(n_tensors):
            name = _read_value(f, STRING)
            n_dims = struct.unpack("<I", f.read(4))[0]
            dims = struct.unpack(f"<{n_dims}Q", f.read(8 * n_dims))
            ggml_type, _ = struct.unpack("<IQ", f.read(12))
            type_name, block, block_bytes = GGML_BLOCKS[ggml_type]
            n = 1
            for d in dims:
                n *= d
            tensors.append((name, list(reversed(dims)), type_name, n // block * block_bytes))
    return meta, tensors


def describe(path):
    """Tensor types, weights and bytes of a GGUF: bits per weight = 8 * tensor bytes / weights over
    every tensor in the file (the definition webaccel's quantize stats use for packages)."""
    meta, tensors = read_gguf(path)
    weights = sum(_count(t[1]) for t in tensors)
    total = sum(t[3] for t in tensors)
    by_type = {}
    for name, shape, type_name, n_bytes in tensors:
        by_type.setdefault(type_name, []).append(name)
    return {"file": path, "file_bytes": os.path.getsize(path), "tensor_bytes": total, "weights": weights,
            "bits_per_weight": 8.0 * total / weights, "memory_reduction_vs_fp16_percent": 100.0 * (1 - total / (2.0 * weights)),
            "file_type": meta.get("general.file_type"), "types": {k: len(v) for k, v in sorted(by_type.items())},
            "tensor_types": {name: type_name for name, _, type_name, _ in tensors}}


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def quantize(src, dst, type_name, threads, pure=False):
    """llama.cpp's quantization of src (llama-cpp-python's llama_model_quantize, default
    parameters: llama.cpp's per-tensor choices and fallbacks apply; pure: every matrix at the type,
    but for llama.cpp's fallbacks where a row is not whole blocks)."""
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[type_name]
    params.pure = pure
    params.nthread = threads
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params) != 0:
        sys.exit(f"llama.cpp quantize of {src} to {type_name} failed")
    return dst


def read_sentences(path, limit=200):
    """webaccel eval's sentences (src/quant/sentences.cpp): split after . ? or !, newlines as
    spaces, leading spaces dropped, pieces of 20 bytes or fewer skipped."""
    out, cur = [], bytearray()
    for c in open(path, "rb").read():
        cur.append(0x20 if c == 0x0A else c)
        if c in b".?!" and cur.strip(b" "):
            if len(cur) > 20:
                out.append(bytes(cur).lstrip(b" ").decode("utf-8", "replace"))
            cur = bytearray()
            if limit and len(out) == limit:
                break
    return out


def llama_cpp_embeddings(path, sentences, threads):
    """Sentence embeddings by llama.cpp itself: the file's pooling (mean), L2-normalised."""
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=threads,
                          verbose=False)
    return llm, [llm.embed(s, normalize=True) for s in sentences]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / ((sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5)


def check(path, model_dir, sentences, threads):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer
    llm, got = llama_cpp_embeddings(path, sentences, threads)
    ref = SentenceTransformer(model_dir, device="cpu").encode(sentences, normalize_embeddings=True).tolist()
    hf = AutoTokenizer.from_pretrained(model_dir)
    same_ids = sum(llm.tokenize(s.encode(), add_bos=True) == hf(s)["input_ids"] for s in sentences)
    cos = [cosine(a, b) for a, b in zip(got, ref)]
    return {"file": path, "sentences": len(sentences), "token_ids_equal": same_ids, "min_cosine": min(cos),
            "mean_cosine": sum(cos) / len(cos), "cosines": cos}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("-m", "--model", default=os.path.join(ROOT, "models", "minilm"))
    c.add_argument("-o", "--out", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("-i", "--input", required=True)
    q.add_argument("-o", "--out", required=True)
    q.add_argument("--type", required=True, choices=sorted(FTYPES))
    q.add_argument("-t", "--threads", type=int, default=os.cpu_count())
    q.add_argument("--pure", action="store_true", help="llama.cpp's pure mode: no per-tensor upgrades")
    k = sub.add_parser("check")
    k.add_argument("-i", "--input", required=True)
    k.add_argument("-m", "--model", default=os.path.join(ROOT, "models", "minilm"))
    k.add_argument("--text", help="sentences as webaccel eval reads them (default: a few built-in ones)")
    k.add_argument("-t", "--threads", type=int, default=os.cpu_count())
    d = sub.add_parser("describe")
    d.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "convert":
        print(json.dumps({k: v for k, v in describe(convert(a.model, a.out)).items() if k != "tensor_types"}, indent=1))
    elif a.cmd == "quantize":
        print(json.dumps({k: v for k, v in describe(quantize(a.input, a.out, a.type, a.threads, a.pure)).items()}, indent=1))
    elif a.cmd == "check":
        sentences = read_sentences(a.text) if a.text else [
            "The cat sits on the mat.", "A kitten rests on a rug.", "Stock markets fell sharply on Monday.",
            "Quantization stores each weight in fewer bits.", "Where is the nearest train station?",
            "Photosynthesis turns light into chemical energy.", "Naïve café owners résumé: 東京 and São Paulo!"]
        r = check(a.input, a.model, sentences, a.threads)
        print(json.dumps({k: v for k, v in r.items() if k != "cosines"} | {"cosines": [round(x, 7) for x in r["cosines"][:10]]}, indent=1))
    else:
        print(json.dumps(describe(a.file), indent=1))


if __name__ == "__main__":
    main()
