#!/usr/bin/env python3
"""The CUDA peer of gemv_bench's table, on the same GPU: PyTorch's own batch-1 products.

Prints, per shape, GB/s of weight + scale bytes read for
  - f16 cuBLAS        F.linear of one f16 row (cuBLAS GEMV)
  - int4 tinygemm     torch._weight_int4pack_mm, 4-bit codes in groups of 32 with a bf16 (scale, zero)
                      per group: the same bytes per weight as webaccel's WQ4_G32 (4.5 bits)
  - int8 compiled     torch.compile of F.linear(x, w_int8.to(bf16)) * row_scale (the int8 path of
                      PyTorch's gpt-fast; Inductor writes the fused kernel)
each against PyTorch's elementwise copy in the same process (read + written), and the 7B
decode step's 4-bit products (32 layers of qkv 12288x4096, wo 4096x4096, gate|up 22016x4096, down
4096x11008) as one CUDA graph. Every figure is the median of 25 replays of a CUDA graph holding a
chain of products, after warm-up, cycling through enough copies of the weights (>= 512 MiB) that no
product finds its matrix in L2: the GPU's time alone, as gemv_bench's "GPU us".

Each product is checked against a float64 reference of its dequantized weights first (random
codes and scales, never zeros); a product that does not match is reported and not timed.

  python3 bench/gpu/torch_peer.py [--shapes 4096x4096,...] [--no-int8] [--no-7b]
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F

from torch_timing import copy_gb_s, graph_seconds

L2_DEFEAT_BYTES = 512 << 20
CHAIN = 64
GROUP = 32


def n_copies(bytes_each):
    return max(2, min(256, -(-L2_DEFEAT_BYTES // bytes_each)))


def rel_err(got, want):
    got, want = got.double().flatten(), want.double().flatten()
    return ((got - want).norm() / want.norm()).item()


# ---- int4 tinygemm (PyTorch's _weight_int4pack_mm): w = (q - 8) * scale + zero per group of 32 ----
def int4_matrix(rows, cols, gen, inner_k_tiles=8):
    q = torch.randint(0, 16, (rows, cols), dtype=torch.int32, device="cuda", generator=gen)
    packed_bytes = ((q[:, ::2] << 4) | q[:, 1::2]).to(torch.uint8)  # (rows, cols/2): even column in the high nibble
    w = torch._convert_weight_to_int4pack(packed_bytes, inner_k_tiles)
    scales = (torch.rand(cols // GROUP, rows, device="cuda", generator=gen) * 0.02 + 0.005)
    zeros = (torch.rand(cols // GROUP, rows, device="cuda", generator=gen) - 0.5) * 0.02
    sz = torch.stack([scales, zeros], dim=2).to(torch.bfloat16).contiguous()  # (cols/32, rows, 2)
    return q, w, sz


def int4_reference(q, sz, x):
    s = sz[..., 0].double().t().repeat_interleave(GROUP, dim=1)  # (rows, cols)
    z = sz[..., 1].double().t().repeat_interleave(GROUP, dim=1)
    w = (q.double() - 8) * s + z
    return x.double() @ w.t()


def int4_bytes(rows, cols):
    return rows * cols // 2 + (cols // GROUP) * rows * 4


def bench_int4(rows, cols, gen):
    """The best of the packing's inner k tiles (2, 4, 8: its one tuning knob)."""
    x = torch.randn(1, cols, device="cuda", generator=gen).to(torch.bfloat16)
    best, notes = None, []
    for tiles in (2, 4, 8):
        q, w, sz = int4_matrix(rows, cols, gen, tiles)
        err = rel_err(torch._weight_int4pack_mm(x, w, GROUP, sz), int4_reference(q, sz, x))
        del q
        if not err < 2e-2:
            notes.append(f"tiles {tiles}: relative error {err:.3g} against the reference, not timed")
            continue
        mats = [(w, sz)] + [(w.clone(), sz.clone()) for _ in range(n_copies(int4_bytes(rows, cols)) - 1)]
        calls = [lambda m=mats[i % len(mats)]: torch._weight_int4pack_mm(x, m[0], GROUP, m[1]) for i in range(CHAIN)]
        gbs = int4_bytes(rows, cols) / graph_seconds(calls) / 1e9
        notes.append(f"tiles {tiles}: rel err {err:.2e}, {gbs:.0f} GB/s")
        best = max(best or 0, gbs)
        del mats, calls
    return best, f"int4 {rows}x{cols}: " + "; ".join(notes)


def bench_f16(rows, cols, gen):
    x = torch.randn(1, cols, device="cuda", generator=gen).half()
    w = (torch.randn(rows, cols, device="cuda", generator=gen) * 0.02).half()
    err = rel_err(F.linear(x, w), x.double() @ w.double().t())
    if not err < 1e-2:
        return None, f"f16 {rows}x{cols}: relative error {err:.3g}, not timed"
    mats = [w] + [w.clone() for _ in range(n_copies(rows * cols * 2) - 1)]
    calls = [lambda m=mats[i % len(mats)]: F.linear(x, m) for i in range(CHAIN)]
    return rows * cols * 2 / graph_seconds(calls) / 1e9, f"f16 {rows}x{cols}: rel err {err:.2e}"


def int8_linear(x, w8, row_scale):
    return F.linear(x, w8.to(x.dtype)) * row_scale


_int8_compiled = None


def bench_int8(rows, cols, gen):
    global _int8_compiled
    if _int8_compiled is None:
        _int8_compiled = torch.compile(int8_linear, dynamic=False)
    x = torch.randn(1, cols, device="cuda", generator=gen).to(torch.bfloat16)
    w8 = torch.randint(-128, 128, (rows, cols), dtype=torch.int8, device="cuda", generator=gen)
    sc = (torch.rand(rows, device="cuda", generator=gen) * 0.01 + 0.001).to(torch.bfloat16)
    err = rel_err(_int8_compiled(x, w8, sc), (x.double() @ w8.double().t()) * sc.double())
    if not err < 2e-2:
        return None, f"int8 {rows}x{cols}: relative error {err:.3g}, not timed"
    nbytes = rows * cols + rows * 2
    mats = [(w8, sc)] + [(w8.clone(), sc.clone()) for _ in range(n_copies(nbytes) - 1)]
    calls = [lambda m=mats[i % len(mats)]: _int8_compiled(x, m[0], m[1]) for i in range(CHAIN)]
    return nbytes / graph_seconds(calls) / 1e9, f"int8 {rows}x{cols}: rel err {err:.2e}"


def bench_7b_step(gen, layers=32):
    """The 4-bit products of one 7B decode step as one graph: ms, bytes."""
    shapes = [(12288, 4096), (4096, 4096), (22016, 4096), (4096, 11008)]
    x = {cols: torch.randn(1, cols, device="cuda", generator=gen).to(torch.bfloat16) for cols in (4096, 11008)}
    mats = []
    for _ in range(layers):
        for rows, cols in shapes:
            _, w, sz = int4_matrix(rows, cols, gen)
            mats.append((w, sz, cols))
    calls = [lambda m=m: torch._weight_int4pack_mm(x[m[2]], m[0], GROUP, m[1]) for m in mats]
    seconds = graph_seconds(calls) * len(calls)
    return seconds, layers * sum(int4_bytes(r, c) for r, c in shapes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="4096x4096,8192x8192,16384x16384,14336x4096,4096x14336,12288x4096,22016x4096,4096x11008")
    ap.add_argument("--no-int8", action="store_true")
    ap.add_argument("--no-7b", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_peer.py: no CUDA device")
    gen = torch.Generator(device="cuda").manual_seed(1)
    props = torch.cuda.get_device_properties(0)
    print(f"# PyTorch {torch.__version__}, {props.name}, {props.multi_processor_count} SMs")
    copy = copy_gb_s()
    print(f"# PyTorch copy (1 GiB read + written): {copy:.0f} GB/s\n")
    kinds = [("f16 cuBLAS", bench_f16), ("int4 tinygemm g32", bench_int4)]
    if not args.no_int8:
        kinds.append(("int8 compiled", bench_int8))
    print("| peer | rows x cols | MB read | GB/s | of copy |")
    print("|---|---|---:|---:|---:|")
    notes = []
    for shape in args.shapes.split(","):
        rows, cols = (int(v) for v in shape.split("x"))
        for name, fn in kinds:
            t0 = time.time()
            try:
                gbs, note = fn(rows, cols, gen)
            except Exception as e:  # a peer missing from this PyTorch: say so and go on
                gbs, note = None, f"{name} {shape}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
            notes.append(f"{note} ({time.time() - t0:.1f} s)")
            mb = {"f16 cuBLAS": rows * cols * 2, "int4 tinygemm g32": int4_bytes(rows, cols),
                  "int8 compiled": rows * cols + rows * 2}[name] / 1e6
            cell = f"{gbs:.0f} | {100 * gbs / copy:.0f}%" if gbs else "- | -"
            print(f"| {name} | {rows}x{cols} | {mb:.1f} | {cell} |", flush=True)
            torch.cuda.empty_cache()
    if not args.no_7b:
        try:
            seconds, nbytes = bench_7b_step(gen)
            gbs = nbytes / seconds / 1e9
            print(f"\n7B decode step, 4-bit products only (int4 tinygemm g32, 128 products, one graph): "
                  f"{seconds * 1e3:.3f} ms, {nbytes / 1e9:.2f} GB, {gbs:.0f} GB/s = {100 * gbs / copy:.0f}% of copy")
        except Exception as e:
            print(f"\n7B decode step: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    print("\n# checks:")
    for n in notes:
        print("#  " + n)


if __name__ == "__main__":
    main()
