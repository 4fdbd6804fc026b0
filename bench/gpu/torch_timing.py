"""GPU time through CUDA graphs, shared by torch_peer.py and torch_decode_peer.py."""
import statistics

import torch

RUNS, WARMUP = 25, 3


def graph_seconds(calls):
    """Median seconds per call of `calls` (a list of thunks) replayed as one CUDA graph: the GPU's
    time alone, no launch overhead (gemv_bench's "GPU us", gpu-bench's "GPU alone")."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for c in calls[:4]:
            c()  # warm-up outside capture (cuBLAS workspaces, Inductor's first call)
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for c in calls:
            c()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for run in range(WARMUP + RUNS):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        if run >= WARMUP:
            times.append(start.elapsed_time(end) / 1e3 / len(calls))
    del graph
    return statistics.median(times)


def copy_gb_s(half_bytes=512 << 20):
    """GB/s (read + written) of an elementwise kernel moving half_bytes, as copy.wgsl is counted (in a
    graph, copy_ becomes a copy-engine memcpy, about 30% slower on an H200)."""
    src = torch.rand(half_bytes // 4, device="cuda")
    dst = torch.empty_like(src)
    return 2 * half_bytes / graph_seconds([lambda: torch.neg(src, out=dst)] * 16) / 1e9
