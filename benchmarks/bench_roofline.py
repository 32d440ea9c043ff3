"""How far NeuralNDCG's Sinkhorn is from the machine's limits (memory bandwidth, FLOP rate).

    .venv/bin/python benchmarks/bench_roofline.py [--repeats 5] [--threads 1 2]

At [64, 240] (the loss benchmark's shape; every list full so the work is exact) with
every Sinkhorn run forced to its 50 iterations (``sinkhorn_tol=0``), the work is known:
each iteration does two matrix-vector products over a list's 240 x 240 float32 matrix
(``K^T u`` and ``K v``), forward and again backward; the backward pass adds two products
[L, steps] x [steps, L] per list for the gradient of K. So, per call:

- matrix bytes read: 50 iterations x 2 products x 4 bytes x 64 x 240² = 1.47 GB forward,
  the same backward;
- FLOP: 2 per matrix entry and product (0.74 GFLOP forward, 0.74 backward + 0.74 for
  the gradient products).

Everything else (the NeuralSort softmax, its reverse pass, a dozen [B, L, L] passes in
all) is counted in the times but not in the bytes, so the fractions are lower bounds.
The machine's limits are measured in the same run: DRAM bandwidth (STREAM-style add,
two 128 MB float32 inputs and one output, 12 bytes per element), the bandwidth of the
same add on arrays that fit in the cache (16 MiB in all, the size of one group of
lists, ``SINKHORN_GROUP_BYTES``), and the float32 matrix-multiply rate (2048²). Prints
a markdown table with the CPU model, torch version and threads.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from rankwise import functional as R

B, L, STEPS = 64, 240, 50


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def stream_bandwidth(elements: int, repeats: int, inner: int = 1) -> float:
    """Bytes/s of ``a = b + c`` (float32) over arrays of ``elements``."""
    b = torch.rand(elements)
    c = torch.rand(elements)
    a = torch.empty_like(b)

    def run() -> None:
        for _ in range(inner):
            torch.add(b, c, out=a)

    return 12 * elements * inner / best_time(run, repeats)


def gemm_rate(n: int, repeats: int) -> float:
    x = torch.rand(n, n)
    y = torch.rand(n, n)
    return 2 * n**3 / best_time(lambda: x @ y, repeats)


def neural_ndcg_times(repeats: int) -> tuple[float, float]:
    """(forward seconds, forward + backward seconds) at [64, 240], 50 iterations."""
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(B, L, generator=g)
    labels = torch.randint(0, 5, (B, L), generator=g).float()

    def forward() -> None:
        with torch.no_grad():
            R.neural_ndcg_loss(scores, labels, sinkhorn_tol=0.0)

    def forward_backward() -> None:
        s = scores.clone().requires_grad_(True)
        R.neural_ndcg_loss(s, labels, sinkhorn_tol=0.0).backward()

    return best_time(forward, repeats), best_time(forward_backward, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _machine import cpu_model

    entries = B * L * L
    matrix_bytes = STEPS * 2 * 4 * entries  # per pass (forward or backward)
    flop_forward = STEPS * 2 * 2 * entries
    flop_backward = 2 * flop_forward
    print(f"CPU: {cpu_model()}; torch {torch.__version__}")
    print()
    print(
        "| threads | DRAM GB/s | in-cache GB/s | float32 GEMM GFLOP/s | NeuralNDCG fwd ms | "
        "fwd GB/s (of DRAM, of in-cache) | fwd GFLOP/s (of GEMM) | bwd ms | "
        "bwd GB/s (of DRAM, of in-cache) | bwd GFLOP/s (of GEMM) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        dram = stream_bandwidth(1 << 25, args.repeats)
        cache = stream_bandwidth((16 << 20) // 12, args.repeats, inner=50)
        gemm = gemm_rate(2048, args.repeats)
        forward, both = neural_ndcg_times(args.repeats)
        backward = both - forward
        fwd_bw, bwd_bw = matrix_bytes / forward, matrix_bytes / backward
        fwd_fl, bwd_fl = flop_forward / forward, flop_backward / backward
        print(
            f"| {threads} | {dram / 1e9:.1f} | {cache / 1e9:.1f} | {gemm / 1e9:.1f} | "
            f"{forward * 1e3:.0f} | "
            f"{fwd_bw / 1e9:.1f} ({fwd_bw / dram:.0%}, {fwd_bw / cache:.0%}) | "
            f"{fwd_fl / 1e9:.2f} ({fwd_fl / gemm:.1%}) | {backward * 1e3:.0f} | "
            f"{bwd_bw / 1e9:.1f} ({bwd_bw / dram:.0%}, {bwd_bw / cache:.0%}) | "
            f"{bwd_fl / 1e9:.2f} ({bwd_fl / gemm:.1%}) |"
        )


if __name__ == "__main__":
    main()
