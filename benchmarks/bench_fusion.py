"""Run fusion against ranx: same values, and time side by side.

    .venv/bin/python benchmarks/bench_fusion.py [--queries 2000] [--docs 100] [--runs 3]

``--runs`` synthetic runs over ``--queries`` queries, each retrieving a random ~70% of a
pool of ``--docs`` documents with continuous scores on different scales (no ties, so
both libraries rank identically). For each (normalization, method) pair both libraries
support under the same definition, the script checks that every fused score agrees to
1e-9 and times ranx's ``fuse`` on prebuilt ``Run`` objects (after its numba JIT warm-up)
against rankwise's ``fuse`` on the stacked [R, Q, L] tensors and ``fuse_runs`` end to end
on TREC runs (stacking included). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from rankwise.aggregate import fuse
from rankwise.runs import fuse_runs, stack_runs
from rankwise.runs.trec import TrecRun

# (rankwise normalization, rankwise method, ranx norm, ranx method)
CASES = [
    ("min_max", "comb_sum", "min-max", "sum"),
    ("min_max", "comb_mnz", "min-max", "mnz"),
    ("min_max", "comb_max", "min-max", "max"),
    ("z_score", "comb_sum", "zmuv", "sum"),
    ("sum", "comb_sum", "sum", "sum"),
    ("max", "comb_sum", "max", "sum"),
    ("rank", "comb_sum", "rank", "sum"),
    ("none", "rrf", "min-max", "rrf"),
    ("none", "borda", "min-max", "bordafuse"),
]


def best_of(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_runs(queries: int, docs: int, runs: int, seed: int) -> list[TrecRun]:
    rng = np.random.default_rng(seed)
    out = []
    for r in range(runs):
        qids, docids, scores = [], [], []
        for q in range(queries):
            kept = np.flatnonzero(rng.random(docs) < 0.7)
            values = rng.normal(loc=5.0 * r, scale=1.0 + r, size=kept.size)  # own scale
            qids += [f"q{q}"] * kept.size
            docids += [f"d{d}" for d in kept]
            scores += values.tolist()
        order = np.arange(len(qids))
        out.append(
            TrecRun(
                qids=np.array(qids),
                docids=np.array(docids),
                scores=np.array(scores, dtype=np.float64),
                ranks=order + 1,
                tag=f"run{r}",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))
    import ranx

    runs = make_runs(args.queries, args.docs, args.runs, seed=0)
    ranx_runs = []
    for r in runs:
        as_dict: dict[str, dict[str, float]] = {}
        for q, d, s in zip(r.qids.tolist(), r.docids.tolist(), r.scores.tolist(), strict=True):
            as_dict.setdefault(q, {})[d] = s
        ranx_runs.append(ranx.Run(as_dict, name=r.tag))
    stacked = stack_runs(runs)
    print(f"Command: {' '.join(sys.argv)}\n")
    print(
        f"{args.runs} runs x {args.queries} queries x ~{int(0.7 * args.docs)} documents, "
        f"{args.threads} thread(s), best of {args.repeats}\n"
    )
    print(
        "| normalization + method | max abs difference | ranx `fuse` | rankwise `fuse` "
        "(tensors) | speed-up | rankwise `fuse_runs` (TREC runs in and out) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    for norm, method, ranx_norm, ranx_method in CASES:
        ranx_fused = ranx.fuse(ranx_runs, norm=ranx_norm, method=ranx_method)
        ours = fuse_runs(runs, method=method, normalization=norm)  # type: ignore[arg-type]
        reference = ranx_fused.to_dict()
        worst = 0.0
        for q, d, s in zip(
            ours.qids.tolist(), ours.docids.tolist(), ours.scores.tolist(), strict=True
        ):
            worst = max(worst, abs(reference[q][d] - s))
        if worst > 1e-9:
            raise SystemExit(f"{norm} + {method}: rankwise and ranx differ by {worst:.3g}")
        t_ranx = best_of(
            lambda rn=ranx_norm, rm=ranx_method: ranx.fuse(ranx_runs, norm=rn, method=rm),
            args.repeats,
        )
        t_tensor = best_of(
            lambda n=norm, m=method: fuse(
                stacked.scores, mask=stacked.mask, method=m, normalization=n
            ),  # type: ignore[arg-type]
            args.repeats,
        )
        t_runs = best_of(
            lambda n=norm, m=method: fuse_runs(runs, method=m, normalization=n),  # type: ignore[arg-type]
            max(1, args.repeats // 2),
        )
        label = method if method in ("rrf", "borda") else f"{norm} + {method}"
        print(
            f"| {label} | {worst:.1e} | {t_ranx * 1e3:.1f} ms | {t_tensor * 1e3:.1f} ms | "
            f"{t_ranx / t_tensor:.1f}x | {t_runs * 1e3:.0f} ms | {t_ranx / t_runs:.1f}x |"
        )
    print(f"\n(torch {torch.__version__}, ranx {importlib.metadata.version('ranx')})")


if __name__ == "__main__":
    main()
