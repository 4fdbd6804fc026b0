#!/usr/bin/env python3
"""Regenerates the tokenizer goldens from independent reference implementations.

  tokenizer_smollm2.json  <- llama.cpp through llama-cpp-python:
                             Llama(model, vocab_only=True).tokenize(text, add_bos=False, special=...)
                             and .detokenize(ids, special=True)
  tokenizer_minilm.json   <- HF `tokenizers` on the model's own tokenizer.json
                             (BertNormalizer + BertPreTokenizer + WordPiece), .encode / .decode

Usage (each part needs only its own package):
  python make_tokenizer_goldens.py smollm2    # needs llama-cpp-python
  python make_tokenizer_goldens.py minilm     # needs tokenizers
Models are read from $WEBACCEL_MODELS_DIR (default: models/ at the repo root).
"""
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("WEBACCEL_MODELS_DIR", REPO / "models"))
OUT = Path(__file__).resolve().parent

SMOLLM2_MODEL = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_DIR = "minilm"

# (text, parse_special); bytes stand for input that is not valid UTF-8.
SMOLLM2_CASES = [
    ("Hello world", True),
    ("Hello, world! How are you today?", True),
    ("The quick brown fox jumps over the lazy dog.", True),
    ("12345", True),
    ("3.14159", True),
    ("Numbers: 1 22 333 4444 55555 and 1,000,000.50", True),
    ("multiple   spaces    here", True),
    ("line one\nline two\n\nline four", True),
    ("tabs\tand\t\tmore tabs", True),
    ("don't can't won't it's we're they've I'll he'd", True),
    ("I'M SHOUTING, DON'T YOU'LL", True),
    ("café naïve résumé Zürich", True),
    ("日本語のテキストです。中文句子。", True),
    ("한국어 텍스트", True),
    ("emoji 😀🎉 and 👍🏽 family 👨\u200d👩\u200d👧", True),
    ("def add(a, b):\n    return a + b  # sum\n", True),
    ("for (int i = 0; i < n; ++i) { x[i] *= 2; }", True),
    ("<|im_start|>user\nHello<|im_end|>\n", True),
    ("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n", True),
    ("<|im_start|>user\nHello<|im_end|>\n", False),
    ("text with <|im_end|> inside and <repo_name> too<|endoftext|>", True),
    ("", True),
    ("   leading spaces", True),
    ("trailing spaces   ", True),
    (" ", True),
    ("\n", True),
    ("\n\n\n", True),
    ("   \n\t  mixed whitespace \r\n end", True),
    ("Ελληνικά και русский текст", True),
    ("مرحبا بالعالم", True),
    ("superscripts ²³ fractions ½ ¾ roman Ⅻ arabic-indic ٣٤٥", True),
    ("URL https://example.com/path?q=1&r=two#frag", True),
    ("email: someone@example.org", True),
    ("$100.00 €50 £20 ¥1000", True),
    ("((nested [brackets] {braces}))", True),
    ("a'b 'quoted' ''double'' ''' 's", True),
    ("\u00a0non-breaking\u3000ideographic\u2028line separator", True),
    ("zero\u200bwidth joiner\u200d", True),
    ("a" * 64, True),
    ("antidisestablishmentarianism", True),
    # SmolLM2 has no token for byte 0x04 nor for lead byte 0xF1: llama.cpp drops them.
    ("control \x04 byte, unit\x1fseparator", True),
    ("⇈\U00052637", True),
    (b"bad \xff byte", True),
    (b"truncated \xe2\x82 sequence", True),
    (b"overlong \xc0\x80 and surrogate \xed\xa0\x80", True),
]

# (text, max_len)
MINILM_CASES = [
    ("Hello world", 512),
    ("Hello, World! How ARE you?", 512),
    ("The Quick Brown Fox.", 512),
    ("café naïve résumé Zürich", 512),
    ("ÀÉÎÕÜ àéîõü Çç Ññ", 512),
    ("Ångström Øresund Łódź Straße ẞ", 512),
    ("İstanbul ΣΑΣ Ελληνικά", 512),
    ("日本語のテキスト 中文句子", 512),
    ("한국어 텍스트", 512),
    ("emoji 😀 🎉 👍🏽", 512),
    ("numbers 12345 3.14159 1,000,000", 512),
    ("don't can't I'M", 512),
    ("punctuation!?!... (parens) [brackets] {braces} <angle>", 512),
    ("$100 €50 £20 ¥1000 #hash @at ^caret ~tilde `tick` |pipe|", 512),
    ("", 512),
    ("   ", 512),
    ("   leading and trailing   ", 512),
    ("tabs\tand\nnewlines\r\nend", 512),
    ("a" * 101, 512),
    ("x" * 100, 512),
    ("supercalifragilisticexpialidocious", 512),
    ("unaffable tokenization wordpiece", 512),
    ("Hello [MASK] world [SEP] x [mask]", 512),
    ("[CLS][CLS]", 512),
    ("control\x00chars\x07here\u200bzero\u00adsoft", 512),
    ("\u00a0nbsp\u3000ideo\u2028line\x0bvt\x85nel", 512),
    ("mixed中文English日本語", 512),
    ("Привет мир", 512),
    ("مرحبا بالعالم", 512),
    ("e\u0301 combining acute", 512),
    ("ﬁ ligature ½ fraction ² super", 512),
    ("https://example.com/path?q=1&r=two", 512),
    ("user@example.org", 512),
    ("ＦＵＬＬＷＩＤＴＨ ａｂｃ", 512),
    ("Ǆ ǅ ǆ ⓐⓑⓒ Ⅻ", 512),
    ("Thai: ภาษาไทย", 512),
    ("\ue000private use\U000f0000", 512),
    ("the the the the the the the the the the", 8),
    ("short", 2),
    ("Hello world", 3),
    ("unaffable", 3),
]


def text_fields(text):
    """JSON keeps text as a string, or as hex when it is not valid UTF-8."""
    if isinstance(text, bytes):
        return {"bytes_hex": text.hex()}
    return {"text": text}


def decoded_fields(data):
    try:
        return {"decoded": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"decoded_hex": data.hex()}


def write(name, doc):
    path = OUT / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(doc['cases'])} cases)")


def make_smollm2():
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(MODELS / SMOLLM2_MODEL), vocab_only=True, verbose=False)
    cases = []
    for text, parse_special in SMOLLM2_CASES:
        raw = text if isinstance(text, bytes) else text.encode("utf-8")
        ids = llm.tokenize(raw, add_bos=False, special=parse_special)
        case = {**text_fields(text), "parse_special": parse_special, "ids": ids}
        case.update(decoded_fields(llm.detokenize(ids, special=True)))
        cases.append(case)
    write("tokenizer_smollm2.json", {
        "reference": f"llama.cpp via llama-cpp-python {llama_cpp.__version__}: "
                     "Llama(vocab_only=True).tokenize(text, add_bos=False, special=parse_special); "
                     "decoded = detokenize(ids, special=True)",
        "model": SMOLLM2_MODEL,
        "cases": cases,
    })


def make_minilm():
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(MODELS / MINILM_DIR / "tokenizer.json"))
    tok.no_padding()
    cases = []
    for text, max_len in MINILM_CASES:
        tok.enable_truncation(max_length=max_len)
        ids = tok.encode(text).ids
        cases.append({"text": text, "max_len": max_len, "ids": ids, "decoded": tok.decode(ids)})
    write("tokenizer_minilm.json", {
        "reference": f"HF tokenizers {tokenizers.__version__} on {MINILM_DIR}/tokenizer.json: "
                     "encode(text) with truncation to max_len, no padding; decoded = decode(ids)",
        "model": MINILM_DIR + "/vocab.txt",
        "config": {"lowercase": True, "strip_accents": True, "tokenize_chinese_chars": True},
        "cases": cases,
    })


if __name__ == "__main__":
    parts = {"smollm2": make_smollm2, "minilm": make_minilm}
    for arg in sys.argv[1:] or parts:
        parts[arg]()
