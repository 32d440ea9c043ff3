"""``rankwise compare RUN_DIR ...``: compare finished runs on their test queries.

    rankwise compare runs/lightgbm runs/mlp runs/context -m ndcg@10 -m map

The first run is the baseline: each other run's per-query test values are compared
with a paired test (``--test``), p-values corrected over all comparisons
(``--correction``), significant differences marked ▲/▼, with 95% bootstrap intervals.
The conventions of every metric are printed under the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console


def register(commands: Any) -> None:
    p = commands.add_parser(
        "compare",
        help="compare finished runs (significance marks, intervals, conventions)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", help="run directories (the first is the baseline)")
    p.add_argument("-m", "--metric", action="append", dest="metrics", help="metrics to show")
    p.add_argument("--test", choices=["t", "wilcoxon", "randomization"], default="t")
    p.add_argument("--correction", choices=["none", "bonferroni", "holm", "bh"], default="holm")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=run)


def comparison_of(runs: list[Any], metrics: list[str] | None, **options: Any) -> Any:
    from rankwise.metrics.compare import compare
    from rankwise.metrics.runs import Evaluation
    from rankwise.metrics.spec import parse_metric
    from rankwise.train.rundir import unique_names

    evaluations: dict[str, Evaluation] = {}
    keys = [parse_metric(m).key for m in metrics] if metrics else None
    for name, r in zip(unique_names(runs), runs, strict=True):
        e = r.test
        if keys is not None:
            missing = [k for k in keys if k not in e.per_query]
            if missing:
                raise ValueError(f"run {r.path} has no test values for {missing}")
            e = Evaluation(
                specs=[s for s in e.specs if s.key in keys],
                qids=e.qids,
                per_query={k: e.per_query[k] for k in keys},
                lists_without_relevant=e.lists_without_relevant,
            )
        evaluations[name] = e
    return compare(evaluations, **options)


def run(args: argparse.Namespace) -> int:
    from rankwise.metrics.compare import render_comparison
    from rankwise.train.rundir import load_run

    runs = [load_run(p) for p in args.runs]
    comparison = comparison_of(
        runs, args.metrics, test=args.test, correction=args.correction, alpha=args.alpha
    )
    if args.format == "json":
        json.dump(comparison.to_dict(), sys.stdout, indent=2)
        print()
    else:
        render_comparison(comparison, Console())
    return 0
