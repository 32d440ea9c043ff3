"""``rankwise predict CHECKPOINT DATA``: score a data set with a trained model.

    rankwise predict runs/mq2008/ test.txt -o scores.txt            # one score per line
    rankwise predict runs/mq2008/ test.txt -o run.trec --format trec # a TREC run

CHECKPOINT is a checkpoint file or a run directory (its best checkpoint). The run's
feature transform is applied to DATA first; the number of features must match. A TREC run
names documents by the data's docids (``D<i>``, the document's position in the file,
without them) and ranks them in trec_eval's order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rankwise.cli.reading import add_reader_options, data_from_args


def register(commands: Any) -> None:
    """Add the ``predict`` command to the CLI."""
    p = commands.add_parser(
        "predict",
        help="score a data set with a trained model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument("data", help="ranking data (SVMlight, Parquet or cache)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--format", choices=["scores", "trec"], default="scores")
    p.add_argument("--run-name", default=None, help="TREC run tag (default: the run's name)")
    p.add_argument("--device", default="cpu")
    add_reader_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise predict`` (module docstring)."""
    from rankwise.runs.trec import run_from_scores, trec_run_lines
    from rankwise.train.predict import load_predictor

    predictor = load_predictor(args.checkpoint)
    data = data_from_args(args.data, args)
    scores = predictor.predict(data, device=args.device)
    if args.format == "scores":
        lines = [f"{s:.9g}\n" for s in scores.tolist()]
    else:
        run_ = run_from_scores(data, scores, tag=args.run_name or predictor.run_name)
        lines = list(trec_run_lines(run_))
    if args.output:
        Path(args.output).write_text("".join(lines), encoding="utf-8")
    else:
        sys.stdout.writelines(lines)
    return 0
