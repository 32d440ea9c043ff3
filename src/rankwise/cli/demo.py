"""``rankwise demo``: rankwise end to end on the embedded synthetic data.

1. The data pipeline: generate MSLR-shaped data (136 features, graded labels 0-4, a
   list-context effect), write SVMlight, parse it back, cache, reload, check the round
   trip.
2. Three rankers on the same train/valid/test split, through the same code path as
   ``rankwise train``: a LightGBM LambdaMART baseline, an MLP and the context-aware
   self-attention ranker, both trained with NeuralNDCG and early stopping.
3. The comparison table (LightGBM is the baseline of the significance marks) and an
   HTML report (``demo-report.html``).

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
