"""Metric speed: rankwise vs ranx (numba) and scikit-learn on the same inputs, in one run.

Inputs: 10,000 lists x 100 items, scores rounded to one decimal (many ties), graded
labels 0-3 with about 10% of lists having no relevant item. Measured, each as the best
of ``--repeats`` runs after a warm-up call (ranx's numba JIT compiles on the first call):

- rankwise :func:`rankwise.metrics.evaluate` for ndcg@1, ndcg@3, ndcg@5, ndcg@10, map,
  mrr with linear gain (ranx's ``ndcg``), once with ``ties="stable"`` and once with
  ``ties="average"``; float32 tensors on the CPU;
- ranx ``evaluate`` for the same six metrics (its Qrels/Run objects built beforehand);
- scikit-learn ``ndcg_score(k=...)`` for the four NDCG cut-offs, with ``ignore_ties=False``
  (averaged ties, compared with rankwise ``ties="average"``) and ``ignore_ties=True``
  (compared with ``ties="stable"``).

The values are checked to agree before any timing is reported. Usage::

    .venv/bin/python benchmarks/bench_metrics.py [--lists 10000] [--items 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np
import torch


def best_of(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (JIT compilation, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lists", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))

    import ranx
    from sklearn.metrics import ndcg_score

    from rankwise.metrics import evaluate

    rng = np.random.default_rng(0)
    b, n = args.lists, args.items
    scores = np.round(rng.normal(size=(b, n)), 1)
    labels = rng.integers(0, 4, size=(b, n)) * (rng.random((b, n)) < 0.2)
    labels[rng.random(b) < 0.1] = 0  # lists with no relevant item
    s32 = torch.tensor(scores, dtype=torch.float32)
    y32 = torch.tensor(labels, dtype=torch.float32)

    cut_offs = (1, 3, 5, 10)
    ours_metrics = [f"ndcg@{k}[gain=linear]" for k in cut_offs] + ["map", "mrr"]
    ranx_metrics = [f"ndcg@{k}" for k in cut_offs] + ["map", "mrr"]

    def ours(ties: str) -> dict[str, torch.Tensor]:
        metrics = [
            m.replace("]", f",ties={ties}]") if "[" in m else f"{m}[ties={ties}]"
            for m in ours_metrics
        ]
        return evaluate(s32, y32, metrics)

    qids = [f"q{i}" for i in range(b)]
    docs = [f"d{j}" for j in range(n)]
    qrels = ranx.Qrels(
        {
            q: {d: int(labels[i, j]) for j, d in enumerate(docs) if labels[i, j] > 0} or {"none": 0}
            for i, q in enumerate(qids)
        }
    )
    run = ranx.Run(
        {q: {d: float(scores[i, j]) for j, d in enumerate(docs)} for i, q in enumerate(qids)}
    )

    def ranx_eval() -> dict[str, float]:
        return ranx.evaluate(qrels, run, ranx_metrics, make_comparable=True)

    # --- agreement before timing (means; ties make ranx's own order matter, so only the
    # tie-free metric ndcg@10 with average ties vs sklearn is exact; the rest are close)
    r = ranx_eval()
    o = {k.split("[")[0]: float(v) for k, v in ours("stable").items()}
    sk10 = ndcg_score(labels, scores, k=10)
    av10 = float(ours("average")["ndcg@10[gain=linear]"])
    assert abs(av10 - sk10) < 1e-5, (av10, sk10)
    for key in ranx_metrics:
        assert abs(r[key] - o[key]) < 0.02, (key, r[key], o[key])

    t_stable = best_of(lambda: ours("stable"), args.repeats)
    t_average = best_of(lambda: ours("average"), args.repeats)
    t_ranx = best_of(ranx_eval, args.repeats)
    sk_repeats = max(1, args.repeats // 2)
    t_sk_avg = best_of(lambda: [ndcg_score(labels, scores, k=k) for k in cut_offs], sk_repeats)
    t_sk_stable = best_of(
        lambda: [ndcg_score(labels, scores, k=k, ignore_ties=True) for k in cut_offs], sk_repeats
    )
    t_ours_ndcg_avg = best_of(lambda: evaluate(s32, y32, ours_metrics[:4]), args.repeats)
    t_ours_ndcg_stable = best_of(
        lambda: evaluate(s32, y32, [m.replace("]", ",ties=stable]") for m in ours_metrics[:4]]),
        args.repeats,
    )

    print(f"{b:,} lists x {n} items, {args.threads} thread(s), best of {args.repeats}\n")
    print("| comparison | rankwise | reference | speed-up |\n|---|---|---|---|")
    rows = [
        ("ndcg@1,3,5,10 + map + mrr, ties=stable vs ranx", t_stable, t_ranx),
        ("ndcg@1,3,5,10 + map + mrr, ties=average vs ranx", t_average, t_ranx),
        ("ndcg@1,3,5,10, ties=average vs sklearn ignore_ties=False", t_ours_ndcg_avg, t_sk_avg),
        ("ndcg@1,3,5,10, ties=stable vs sklearn ignore_ties=True", t_ours_ndcg_stable, t_sk_stable),
    ]
    for name, ours_t, ref_t in rows:
        print(
            f"| {name} | {ours_t * 1000:.1f} ms | {ref_t * 1000:.1f} ms | {ref_t / ours_t:.1f}x |"
        )
    from importlib.metadata import version

    print(
        f"\n(python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"ranx {version('ranx')}, numba {version('numba')}, scikit-learn {version('scikit-learn')})"
    )


if __name__ == "__main__":
    main()
