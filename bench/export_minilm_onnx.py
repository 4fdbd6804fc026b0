#!/usr/bin/env python3
"""Exports all-MiniLM-L6-v2 (models/minilm) to ONNX for transformers.js / onnxruntime-web, in the
folder layout transformers.js reads locally: models/minilm-onnx/{config.json, tokenizer*.json,
onnx/model.onnx}. The graph outputs last_hidden_state; pooling and normalisation happen in the
pipeline, as sentence-transformers does them.

Run with the peers' venv (torch + transformers): .venv-peers/bin/python bench/export_minilm_onnx.py
"""
import os
import shutil
import sys

import torch
from transformers import AutoModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "models", "minilm")
DST = os.path.join(ROOT, "models", "minilm-onnx")


class LastHiddenState(torch.nn.Module):
    # Keyword arguments: the positional order of BertModel.forward changes between versions.
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


def main():
    if not os.path.exists(os.path.join(SRC, "model.safetensors")):
        sys.exit(f"{SRC}: missing (run scripts/fetch-models)")
    os.makedirs(os.path.join(DST, "onnx"), exist_ok=True)
    model = LastHiddenState(AutoModel.from_pretrained(SRC)).eval()
    ids = torch.tensor([[101, 7592, 1010, 2088, 999, 102]])
    inputs = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    out = os.path.join(DST, "onnx", "model.onnx")
    dynamic = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["last_hidden_state"] = {0: "batch", 1: "sequence"}
    # The TorchScript exporter: the dynamo one needs onnxscript, which the peers' venv lacks.
    torch.onnx.export(model, inputs, out + ".partial", input_names=list(dynamic)[:3], output_names=["last_hidden_state"],
                      dynamic_axes=dynamic, opset_version=14, dynamo=False)
    os.replace(out + ".partial", out)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(os.path.join(SRC, name), os.path.join(DST, name))
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
