"""``rankwise report RUN_DIR ... -o report.html``: one self-contained HTML report.

Learning curves, the comparison table with intervals and significance marks (the first
run is the baseline), per-query distributions and the metric conventions; inline SVG,
viewable offline.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console


def register(commands: Any) -> None:
    """Add the ``report`` command to the CLI."""
    p = commands.add_parser(
        "report",
        help="write an HTML report on finished runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", help="run directories (the first is the baseline)")
    p.add_argument("-o", "--output", default="report.html")
    p.add_argument("-m", "--metric", action="append", dest="metrics", help="metrics to show")
    p.add_argument("--title", default="rankwise report")
    p.add_argument("--test", choices=["t", "wilcoxon", "randomization"], default="t")
    p.add_argument("--correction", choices=["none", "bonferroni", "holm", "bh"], default="holm")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise report`` (module docstring)."""
    from rankwise.report.comparison import comparison_of
    from rankwise.report.html import write_report
    from rankwise.train.rundir import load_run

    runs = [load_run(p) for p in args.runs]
    comparison = comparison_of(runs, args.metrics, test=args.test, correction=args.correction)
    path = write_report(runs, comparison, args.output, title=args.title)
    Console().print(f"report written to {path}")
    return 0
