"""Preference aggregation: sampler × aggregator tables on simulated judges and on MQ2008.

    .venv/bin/python benchmarks/bench_aggregate.py                # both parts
    .venv/bin/python benchmarks/bench_aggregate.py --part simulated
    .venv/bin/python benchmarks/bench_aggregate.py --part mq2008 --data-dir ../shared/data

Simulated: ``--items`` items with true strengths N(0, 2^2), a noisy judge (Bradley-Terry
and Thurstone, noise 1: each comparison a fresh draw), ``--seeds`` seeds. Cells are the
mean Kendall tau of the aggregate ranking with the true order; ``comparisons`` is the
mean number of judge calls. The window sampler walks a first-stage order of
the truth plus N(0, 2^2) noise. JointRank uses a noisy listwise ranker (strength + N(0,1)
per item and call) on random blocks; the Swiss rows use the Bradley-Terry judge.

MQ2008 (LETOR 4.0 Fold1): a LightGBM LambdaMART scorer trained on the training split is
the judge (item i beats j when it scores higher); every test list is re-ranked from
the judge's pairwise verdicts only. The full sort by the scorer is the reference; the
window sampler and the sliding JointRank design walk the order of the single best
feature on the training split (the first stage). Cells: mean NDCG@10 over test lists
[exp2 gain, empty=zero, ties=stable] and the mean number of comparisons per list.
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from rankwise.aggregate import (
    expected_win_scores,
    joint_rank,
    rank_by_comparisons,
    score_comparator,
    simulated_comparator,
)
from rankwise.aggregate.pairwise import Comparator
from rankwise.functional._metrics import ndcg

AGGREGATORS = ["win_count", "copeland", "bradley_terry", "pagerank", "kwiksort"]


def tau(order: np.ndarray, truth: np.ndarray) -> float:
    position = np.empty(order.size)
    position[order] = np.arange(order.size)
    return float(kendalltau(-position, truth).statistic)


def sampler_settings(n: int) -> list[tuple[str, dict[str, int]]]:
    return [
        ("random k=1", {"k": 1}),
        ("random k=2", {"k": 2}),
        ("random k=4", {"k": 4}),
        ("random k=8", {"k": 8}),
        ("window w=4", {"window": 4}),
        ("window w=8", {"window": 8}),
        ("all pairs", {}),
    ]


def simulated(items: int, seeds: int) -> None:
    print(f"### Simulated judges ({items} items, mean over {seeds} seeds, Kendall tau)\n")
    for model in ("bradley_terry", "thurstone"):
        rows: dict[str, list[float]] = {}
        counts: dict[str, list[int]] = {}
        first_stage = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            truth = rng.normal(0.0, 2.0, items)
            initial = np.argsort(-(truth + rng.normal(0.0, 2.0, items)))
            first_stage.append(tau(initial, truth))
            for name, options in sampler_settings(items):
                sampler = "all" if name == "all pairs" else name.split()[0]
                for aggregator in AGGREGATORS:
                    judge = simulated_comparator(truth, model=model, generator=seed)  # type: ignore[arg-type]
                    result = rank_by_comparisons(
                        items,
                        judge,
                        sampler=sampler,
                        aggregator=aggregator,
                        initial_order=initial,
                        generator=seed,
                        **options,  # type: ignore[arg-type]
                    )
                    rows.setdefault(name, []).append(tau(result.order, truth))
                    counts.setdefault(name, []).append(result.comparisons)
        print(
            f"{model.replace('_', '-')} judge (first-stage order: tau {np.mean(first_stage):.3f})\n"
        )
        print("| sampler | comparisons | " + " | ".join(AGGREGATORS) + " |")
        print("|---|---|" + "---|" * len(AGGREGATORS))
        for name, values in rows.items():
            cells = np.asarray(values).reshape(seeds, len(AGGREGATORS)).mean(0)
            print(
                f"| {name} | {np.mean(counts[name]):.0f} | "
                + " | ".join(f"{c:.3f}" for c in cells)
                + " |"
            )
        print()
    print("JointRank and Swiss tournaments (Bradley-Terry judge / noisy listwise ranker)\n")
    print("| method | ranker calls or matches | comparisons | Kendall tau |")
    print("|---|---|---|---|")
    for label, run in joint_and_swiss(items):
        taus, calls, comparisons = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            truth = rng.normal(0.0, 2.0, items)
            order, c, m = run(truth, seed)
            taus.append(tau(order, truth))
            calls.append(c)
            comparisons.append(m)
        print(
            f"| {label} | {np.mean(calls):.0f} | {np.mean(comparisons):.0f} | {np.mean(taus):.3f} |"
        )
    print()


def joint_and_swiss(
    items: int,
) -> list[tuple[str, Callable[[np.ndarray, int], tuple[np.ndarray, int, int]]]]:
    def jr(block: int, replication: int, aggregator: str):  # type: ignore[no-untyped-def]
        def run(truth: np.ndarray, seed: int) -> tuple[np.ndarray, int, int]:
            noise = np.random.default_rng(1000 + seed)

            def ranker(ids: np.ndarray) -> np.ndarray:
                return truth[ids] + noise.normal(0.0, 1.0, ids.size)

            r = joint_rank(
                items,
                ranker,
                block_size=block,
                design="random",
                replication=replication,
                aggregator=aggregator,  # type: ignore[arg-type]
                generator=seed,
            )
            return r.order, r.ranker_calls, r.comparisons

        return run

    def mc_swiss(samples: int):  # type: ignore[no-untyped-def]
        def run(truth: np.ndarray, seed: int) -> tuple[np.ndarray, int, int]:
            judge = simulated_comparator(truth, generator=seed)
            r = expected_win_scores(items, judge, samples=samples, generator=seed)
            return r.order, r.comparisons, r.comparisons

        return run

    out = []
    for block in (10, 20):
        for replication in (2, 4):
            for aggregator in ("win_rate", "pagerank", "bradley_terry"):
                label = f"JointRank b={block} r={replication} {aggregator}"
                out.append((label, jr(block, replication, aggregator)))
    for samples in (1, 8, 32):
        out.append((f"Swiss ({samples} Monte-Carlo tournaments)", mc_swiss(samples)))
    return out


def ndcg_at_10(order: np.ndarray, labels: np.ndarray) -> float:
    scores = torch.empty(order.size, dtype=torch.float64)
    scores[torch.from_numpy(order)] = -torch.arange(order.size, dtype=torch.float64)
    value = ndcg(scores, torch.from_numpy(labels), k=10, gain="exp2", empty="zero", ties="stable")
    return float(value)


def mq2008(data_dir: Path) -> None:
    from rankwise.data import load_letor_fold
    from rankwise.models.gbdt import LightGBMRanker

    fold = load_letor_fold(data_dir / "letor4-mq2008", 1)
    start = time.perf_counter()
    scorer = LightGBMRanker(n_estimators=300).fit(fold.train, fold.vali)
    test_scores = scorer.predict(fold.test)
    # first stage: the single feature with the best training NDCG@10
    best_feature, best_value = 0, -1.0
    for f in range(fold.train.num_features):
        values = [
            ndcg_at_10(
                np.argsort(-fold.train.query(q)[0][:, f], kind="stable"), fold.train.query(q)[1]
            )
            for q in range(fold.train.num_queries)
        ]
        if np.mean(values) > best_value:
            best_feature, best_value = f, float(np.mean(values))
    print(
        f"### MQ2008 Fold1 test ({fold.test.num_queries} lists; judge: LightGBM LambdaMART, "
        f"trained in {time.perf_counter() - start:.0f} s; first stage: feature "
        f"{best_feature + 1})\n"
    )
    offsets = fold.test.query_offsets
    lists = []
    for q in range(fold.test.num_queries):
        features, labels = fold.test.query(q)
        s = test_scores[offsets[q] : offsets[q + 1]]
        initial = np.argsort(-features[:, best_feature], kind="stable")
        lists.append((s, labels, initial))
    full = np.mean([ndcg_at_10(np.argsort(-s, kind="stable"), y) for s, y, _ in lists])
    first = np.mean([ndcg_at_10(init, y) for _, y, init in lists])
    rng = np.random.default_rng(0)
    random_order = np.mean([ndcg_at_10(rng.permutation(y.size), y) for _, y, _ in lists])
    all_pairs = np.mean([y.size * (y.size - 1) / 2 for _, y, _ in lists])
    print("| ranking | comparisons per list | NDCG@10 |\n|---|---|---|")
    print(f"| full sort by the scorer (reference) | — | {full:.4f} |")
    print(f"| first stage (feature {best_feature + 1}) | 0 | {first:.4f} |")
    print(f"| random order | 0 | {random_order:.4f} |")
    print()
    mean_length = np.mean([y.size for _, y, _ in lists])
    print(f"Mean list length {mean_length:.1f}; all pairs: {all_pairs:.0f} comparisons.\n")
    print("| sampler | comparisons per list | " + " | ".join(AGGREGATORS) + " |")
    print("|---|---|" + "---|" * len(AGGREGATORS))
    settings = [
        ("random k=1", "random", {"k": 1}),
        ("random k=2", "random", {"k": 2}),
        ("random k=4", "random", {"k": 4}),
        ("window w=2", "window", {"window": 2}),
        ("window w=4", "window", {"window": 4}),
        ("all pairs", "all", {}),
    ]
    for name, sampler, options in settings:
        cells, comparisons = [], []
        for aggregator in AGGREGATORS:
            values = []
            for i, (s, y, initial) in enumerate(lists):
                judge: Comparator = score_comparator(s)
                r = rank_by_comparisons(
                    y.size,
                    judge,
                    sampler=sampler,
                    aggregator=aggregator,
                    initial_order=initial,
                    generator=i,
                    **options,  # type: ignore[arg-type]
                )
                values.append(ndcg_at_10(r.order, y))
                comparisons.append(r.comparisons)
            cells.append(np.mean(values))
        print(
            f"| {name} | {np.mean(comparisons):.1f} | "
            + " | ".join(f"{c:.4f}" for c in cells)
            + " |"
        )
    print()
    print("| JointRank (ranker: the scorer on a block) | ranker calls | comparisons | NDCG@10 |")
    print("|---|---|---|---|")
    for design, block, replication, aggregator in [
        ("random", 5, 2, "pagerank"),
        ("random", 5, 4, "pagerank"),
        ("random", 5, 4, "win_rate"),
        ("random", 10, 2, "pagerank"),
        ("random", 10, 4, "bradley_terry"),
        ("sliding", 10, 0, "bradley_terry"),
    ]:
        values, calls, comparisons = [], [], []
        for i, (s, y, initial) in enumerate(lists):
            r = joint_rank(
                y.size,
                lambda ids, s=s: s[ids],  # type: ignore[misc]
                block_size=block,
                design=design,  # type: ignore[arg-type]
                replication=max(replication, 1),
                aggregator=aggregator,  # type: ignore[arg-type]
                order=initial,
                generator=i,
            )
            values.append(ndcg_at_10(r.order, y))
            calls.append(r.ranker_calls)
            comparisons.append(r.comparisons)
        label = f"{design} b={block}" + (f" r={replication}" if design == "random" else "")
        print(
            f"| {label} {aggregator} | {np.mean(calls):.1f} | {np.mean(comparisons):.1f} | "
            f"{np.mean(values):.4f} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["simulated", "mq2008", "both"], default="both")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data-dir", default=os.environ.get("RANKWISE_DATA_DIR", "../shared/data"))
    args = parser.parse_args()
    print(f"Command: {' '.join(sys.argv)}\n")
    if args.part in ("simulated", "both"):
        simulated(args.items, args.seeds)
    if args.part in ("mq2008", "both"):
        mq2008(Path(args.data_dir))


if __name__ == "__main__":
    main()
