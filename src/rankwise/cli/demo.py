"""``rankwise demo``: rankwise end to end on the embedded synthetic data — the data
pipeline, three rankers (LightGBM, an MLP and the context-aware ranker) through the code
path of ``rankwise train``, the comparison table and an HTML report
(:mod:`rankwise.report.demo` says what each step does).

About 5 minutes on 2 CPU cores with the defaults; ``--quick`` runs a small version.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add the ``demo`` command to the CLI."""
    p = commands.add_parser(
        "demo",
        help="train and compare rankers on the embedded synthetic data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--queries", type=int, default=1500, help="number of synthetic queries")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="demo-data", help="where the demo writes its files")
    p.add_argument("--report", default="demo-report.html", help="the HTML report to write")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs per neural ranker")
    p.add_argument("--quick", action="store_true", help="a small, fast version (tests)")
    p.add_argument("--no-gbdt", action="store_true", help="skip the LightGBM baseline")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise demo`` (:func:`rankwise.report.demo.run_demo`)."""
    from rankwise.report.demo import DemoOptions, run_demo

    run_demo(
        DemoOptions(
            queries=args.queries,
            seed=args.seed,
            workdir=args.workdir,
            report=args.report,
            epochs=args.epochs,
            quick=args.quick,
            gbdt=not args.no_gbdt,
        )
    )
    return 0
