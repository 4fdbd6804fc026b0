#!/usr/bin/env python3
"""The CUDA peer of gpu-bench's 7B decode row: one llama-7B-shaped decode step in PyTorch, 4-bit.

Random weights of the real shapes (32 layers, 4096 wide, 32 heads of 128, FFN 11008, vocabulary
32000, output head 4-bit too, as gpu-bench's `--shape 7b`), every product through PyTorch's int4
batch-1 kernel (torch._weight_int4pack_mm, groups of 32: WQ4_G32's bytes), activations in bf16,
RMSNorm / RoPE / SiLU / SDPA as PyTorch ops, the KV cache in bf16. The whole step (embedding row to
logits) is captured as one CUDA graph, so no launch overhead is left: the GPU's time alone, as
gpu-bench's "GPU alone ms". Context: 64 keys (gpu-bench: 8 prompt tokens + up to 64 decoded).
Prints ms per token, tok/s, and the fraction of the bandwidth limit (bytes read per token / copy
GB/s, PyTorch's elementwise copy in this process, read + written).

  python3 bench/gpu/torch_decode_peer.py [--layers 32] [--context 64]
"""
import argparse
import time

import torch
import torch.nn.functional as F

from torch_peer import GROUP, int4_bytes, int4_matrix
from torch_timing import copy_gb_s, graph_seconds
EMBD, HEADS, HEAD_DIM, FF, VOCAB = 4096, 32, 128, 11008, 32000


def int4_weight(rows, cols, gen):
    _, w, sz = int4_matrix(rows, cols, gen)
    return w, sz, int4_bytes(rows, cols)


def mm(x, w):
    return torch._weight_int4pack_mm(x, w[0], GROUP, w[1])


def rope(t, cos, sin):  # t: (heads, head_dim) as pairs (even, odd)
    a, b = t.float().view(-1, HEAD_DIM // 2, 2).unbind(-1)
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).view(-1, HEAD_DIM).to(t.dtype)


def graph_ms(step):
    return graph_seconds([step]) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--compile", action="store_true",
                    help="also the step through torch.compile (Inductor fuses the norms, RoPE and SiLU; gpt-fast's way)")
    args = ap.parse_args()
    gen = torch.Generator(device="cuda").manual_seed(7)
    bf = torch.bfloat16
    layers, nbytes = [], 0
    for _ in range(args.layers):
        ws = [int4_weight(r, c, gen) for r, c in ((3 * EMBD, EMBD), (EMBD, EMBD), (2 * FF, EMBD), (EMBD, FF))]
        nbytes += sum(w[2] for w in ws)
        layers.append(dict(qkv=ws[0], wo=ws[1], gate_up=ws[2], down=ws[3],
                           attn_norm=torch.rand(EMBD, device="cuda", generator=gen).to(bf) + 0.5,
                           ffn_norm=torch.rand(EMBD, device="cuda", generator=gen).to(bf) + 0.5,
                           k=torch.randn(1, HEADS, args.context, HEAD_DIM, device="cuda", generator=gen).to(bf),
                           v=torch.randn(1, HEADS, args.context, HEAD_DIM, device="cuda", generator=gen).to(bf)))
    output = int4_weight(VOCAB, EMBD, gen)
    nbytes += output[2] + EMBD * 2  # the head, and one bf16 embedding row
    out_norm = torch.ones(EMBD, device="cuda", dtype=bf)
    embedding = torch.randn(VOCAB, EMBD, device="cuda", generator=gen).to(bf)
    token = torch.tensor([17], device="cuda")
    pos = torch.tensor([args.context - 1], device="cuda")  # the new token's key and value land in the last slot
    inv = 1.0 / (10000.0 ** (torch.arange(0, HEAD_DIM, 2, device="cuda").float() / HEAD_DIM))
    logits = torch.empty(1, VOCAB, device="cuda", dtype=bf)

    def step():
        ang = pos.float()[:, None] * inv  # (1, head_dim / 2)
        cos, sin = ang.cos(), ang.sin()
        x = embedding.index_select(0, token)  # (1, 4096)
        for L in layers:
            qkv = mm(F.rms_norm(x, (EMBD,), L["attn_norm"], 1e-5), L["qkv"])  # (1, 12288)
            q, k, v = qkv.view(3, HEADS, HEAD_DIM).unbind(0)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            L["k"].index_copy_(2, pos, k.view(1, HEADS, 1, HEAD_DIM))
            L["v"].index_copy_(2, pos, v.reshape(1, HEADS, 1, HEAD_DIM))
            a = F.scaled_dot_product_attention(q.view(1, HEADS, 1, HEAD_DIM), L["k"], L["v"])  # (1, 32, 1, 128)
            x = x + mm(a.reshape(1, EMBD), L["wo"])
            gu = mm(F.rms_norm(x, (EMBD,), L["ffn_norm"], 1e-5), L["gate_up"])  # (1, 22016)
            x = x + mm(F.silu(gu[:, :FF]) * gu[:, FF:], L["down"])
        logits.copy_(mm(F.rms_norm(x, (EMBD,), out_norm, 1e-5), output))

    copy = copy_gb_s()
    limit = copy * 1e9 / nbytes
    props = torch.cuda.get_device_properties(0)
    print(f"# PyTorch {torch.__version__}, {props.name}; elementwise copy (1 GiB read + written) {copy:.0f} GB/s")
    variants = [("PyTorch ops", step)]
    if args.compile:
        variants.append(("torch.compile", torch.compile(step)))
    reference = None
    for name, fn in variants:
        t0 = time.time()
        fn()
        torch.cuda.synchronize()
        got = logits.float().clone()
        assert torch.isfinite(got).all(), f"{name}: non-finite logits"
        if reference is None:
            reference = got
        agree = (got - reference).norm().item() / reference.norm().item()
        ms = graph_ms(fn)
        print(f"7B-shaped decode step ({args.layers} layers, {args.context} keys), int4 tinygemm g32 + {name}, one CUDA graph: "
              f"{ms:.3f} ms/token = {1e3 / ms:.1f} tok/s; {nbytes / 1e6:.1f} MB/token, limit {limit:.1f} tok/s, "
              f"{100 * (1e3 / ms) / limit:.0f}% of it (logits {agree:.1e} from the first variant's; first call {time.time() - t0:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
