"""Peak memory and time of tiled InfoNCE against the dense loss (forward + backward, CPU).

    .venv/bin/python benchmarks/bench_tiled_infonce.py [--batches 4096,16384,65536] [--dim 256]

Each measurement runs in a fresh subprocess; peak memory is the growth of the process's
peak resident set size (``ru_maxrss``) from just before the loss to just after its
backward pass, so it counts the loss's own buffers (similarity matrix, softmax, gradients),
not the inputs. The dense loss is skipped where its [N, N] logits and their gradient alone
would exceed ``--dense-limit-gb`` (default 16 GB; the machine has 24 GB); the table then
shows the memory it would need at least.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(kind: str, n: int, dim: int, tile: int) -> dict[str, float]:
    import torch

    from rankwise.functional import info_nce_loss, tiled_info_nce_loss

    g = torch.Generator().manual_seed(0)
    q = torch.randn(n, dim, generator=g, requires_grad=True)
    k = torch.randn(n, dim, generator=g, requires_grad=True)
    # Warm up the kernels on a small problem so one-time allocations are not counted.
    small_q, small_k = q[:64].detach().requires_grad_(), k[:64].detach().requires_grad_()
    info_nce_loss(small_q, small_k).backward()
    tiled_info_nce_loss(small_q, small_k, tile_size=32).backward()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if kind == "dense":
        loss = info_nce_loss(q, k, temperature=0.05)
    else:
        loss = tiled_info_nce_loss(q, k, temperature=0.05, tile_size=tile)
    loss.backward()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": (after - before) / 1024, "loss": float(loss)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="4096,16384,65536")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--dense-limit-gb", type=float, default=16.0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        print(json.dumps(measure(kind, n, args.dim, args.tile)))
        return
    rows = []
    for n in (int(b) for b in args.batches.split(",")):
        result: dict[str, dict[str, float] | None] = {}
        for kind in ("dense", "tiled"):
            need_gb = 2 * n * n * 4 / 1e9
            if kind == "dense" and need_gb > args.dense_limit_gb:
                result[kind] = None
                continue
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--dim",
                    str(args.dim),
                    "--tile",
                    str(args.tile),
                    "--child",
                    kind,
                    str(n),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            print(n, kind, result[kind], file=sys.stderr, flush=True)
        rows.append((n, result))
    print(f"Command: {' '.join(sys.argv)}\n")
    print(f"D = {args.dim}, tile {args.tile}, float32, forward + backward, CPU\n")
    print(
        "| batch | dense peak MB | tiled peak MB | memory ratio | dense s | tiled s | time ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, r in rows:
        dense, tiled = r["dense"], r["tiled"]
        assert tiled is not None
        if dense is None:
            need = 2 * n * n * 4 / 1e6
            ratio = need / max(tiled["peak_mb"], 1)
            print(
                f"| {n} | not run (needs > {need:,.0f}) | {tiled['peak_mb']:.0f} | "
                f"> {ratio:.0f}x | - | {tiled['seconds']:.1f} | - |"
            )
        else:
            print(
                f"| {n} | {dense['peak_mb']:.0f} | {tiled['peak_mb']:.0f} | "
                f"{dense['peak_mb'] / max(tiled['peak_mb'], 1):.1f}x | {dense['seconds']:.2f} | "
                f"{tiled['seconds']:.2f} | {tiled['seconds'] / dense['seconds']:.2f}x |"
            )


if __name__ == "__main__":
    main()
