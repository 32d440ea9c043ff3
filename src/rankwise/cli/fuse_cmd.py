"""``rankwise fuse``: fuse TREC runs into one run.

    rankwise fuse bm25.run dense.run -o fused.run --method rrf
    rankwise fuse bm25.run dense.run -o fused.run --method weighted_sum --norm min_max \\
        --tune-qrels valid.qrels -m ndcg@10

Normalizations (``--norm``) and methods (``--method``) are defined in
``rankwise.aggregate.score_fusion``. With ``--tune-qrels`` the run weights are chosen on a grid
(``--step``) to maximise the metric on the judged queries (of ``--tune-run`` files if
given, one per input run, else of the input runs themselves), then applied to every
query. The chosen weights and their validation value are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console


def register(commands: Any) -> None:
    """Add the ``fuse`` command to the CLI."""
    from rankwise.aggregate.score_fusion import FUSION_METHODS, NORMALIZATIONS

    p = commands.add_parser(
        "fuse",
        help="fuse TREC runs (CombSUM/MNZ/MAX, weighted sum, RRF, Borda)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", help="TREC run files to fuse")
    p.add_argument("-o", "--output", required=True, help="fused run file to write")
    p.add_argument("--method", choices=FUSION_METHODS, default="comb_sum")
    p.add_argument("--norm", choices=NORMALIZATIONS, default="min_max", help="score normalization")
    p.add_argument("--weights", type=float, nargs="+", help="one weight per run")
    p.add_argument("--rrf-k", type=float, default=60.0, help="RRF constant k (default 60)")
    p.add_argument("--depth", type=int, help="keep the top DEPTH documents per query")
    p.add_argument("--tag", default="fused", help="run tag written in the last column")
    tune = p.add_argument_group("weight tuning")
    tune.add_argument("--tune-qrels", help="qrels of validation queries: tune the weights")
    tune.add_argument(
        "--tune-run",
        action="append",
        default=[],
        help="validation run, one per input run in the same order (default: the input runs)",
    )
    tune.add_argument("-m", "--metric", default="ndcg@10", help="metric to maximise")
    tune.add_argument("--step", type=float, default=0.1, help="weight grid step (divides 1)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise fuse`` (module docstring)."""
    from rankwise.runs.fusion import fuse_runs, tune_run_weights
    from rankwise.runs.trec import read_qrels, read_trec_run, write_trec_run

    console = Console(stderr=True)
    runs = [read_trec_run(p) for p in args.runs]
    weights = args.weights
    if weights is not None and len(weights) != len(runs):
        raise ValueError(f"--weights: {len(weights)} given for {len(runs)} runs")
    if args.tune_qrels:
        if weights is not None:
            raise ValueError("give either --weights or --tune-qrels, not both")
        if args.tune_run and len(args.tune_run) != len(runs):
            raise ValueError(
                f"--tune-run: {len(args.tune_run)} validation runs for {len(runs)} input runs"
            )
        valid = [read_trec_run(p) for p in args.tune_run] if args.tune_run else runs
        tuned = tune_run_weights(
            valid,
            read_qrels(args.tune_qrels),
            method=args.method,
            normalization=args.norm,
            metric=args.metric,
            step=args.step,
            k=args.rrf_k,
        )
        weights = list(tuned.weights)
        console.print(
            f"tuned weights {dict(zip(args.runs, weights, strict=True))} "
            f"({len(tuned.trials)} tried): validation {tuned.metric} = {tuned.value:.4f}",
            highlight=False,
        )
        json.dump({"weights": weights, "validation": {tuned.metric: tuned.value}}, sys.stdout)
        print()
    fused = fuse_runs(
        runs,
        method=args.method,
        normalization=args.norm,
        weights=weights,
        k=args.rrf_k,
        depth=args.depth,
        tag=args.tag,
    )
    write_trec_run(fused, Path(args.output))
    console.print(
        f"wrote {args.output}: {len(fused.queries())} queries, {len(fused)} documents "
        f"({args.method}, norm={args.norm})",
        highlight=False,
    )
    return 0
