"""``rankwise compare RUN_DIR ...``: compare finished runs on their test queries.

    rankwise compare runs/lightgbm runs/mlp runs/context -m ndcg@10 -m map

The first run is the baseline: each other run's per-query test values are compared
with a paired test (``--test``), p-values corrected over all comparisons
(``--correction``), significant differences marked ▲/▼, with 95% bootstrap intervals.
The conventions of every metric are printed under the table.

    rankwise compare runs/mq2008/*/ --vote -m ndcg@10

``--vote`` ranks *systems across tasks* instead (Vote'n'Rank, ``rankwise.aggregate.voting``):
runs are grouped into systems by name (a trailing ``-foldN`` dropped) and into tasks by
their test data (LETOR data set and fold, or test file); each task (× metric) votes with
its mean test value, and the systems are ranked by plurality, Borda, Dowdall, Copeland,
Minimax and the mean, with the Condorcet winner (or the statement that there is none) and
the rules' disagreements.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console


def register(commands: Any) -> None:
    """Add the ``compare`` command to the CLI."""
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
    p.add_argument(
        "--vote",
        action="store_true",
        help="rank systems across data sets/folds by social-choice rules (Vote'n'Rank)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise compare`` (module docstring)."""
    from rankwise.report.comparison import comparison_of, render_comparison
    from rankwise.train.rundir import load_run

    runs = [load_run(p) for p in args.runs]
    if args.vote:
        return _run_vote(runs, args)
    comparison = comparison_of(
        runs, args.metrics, test=args.test, correction=args.correction, alpha=args.alpha
    )
    if args.format == "json":
        json.dump(comparison.to_dict(), sys.stdout, indent=2)
        print()
    else:
        render_comparison(comparison, Console())
    return 0


def _run_vote(runs: list[Any], args: argparse.Namespace) -> int:
    from rankwise.aggregate.voting import vote
    from rankwise.report.vote import render_vote
    from rankwise.train.rundir import systems_by_tasks

    metrics = args.metrics or ["ndcg@10"]
    systems, tasks, table = systems_by_tasks(runs, metrics)
    if len(systems) < 2:
        raise ValueError(f"--vote needs runs of at least two systems, got {systems}")
    report = vote(table, systems=systems, tasks=tasks)
    if args.format == "json":
        json.dump(report.to_dict(), sys.stdout, indent=2)
        print()
    else:
        render_vote(report, metrics, Console())
    return 0
