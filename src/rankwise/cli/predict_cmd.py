"""``rankwise predict CHECKPOINT DATA``: score a data set with a trained model.

    rankwise predict runs/mq2008/ test.txt -o scores.txt            # one score per line
    rankwise predict runs/mq2008/ test.txt -o run.trec --format trec # a TREC run

CHECKPOINT is a checkpoint file or a run directory (its best checkpoint). The run's
feature transform is applied to DATA first; the number of features must match.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def register(commands: Any) -> None:
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
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rankwise.data.formats import load
    from rankwise.data.trec import TrecRun, write_trec_run
    from rankwise.train.predict import load_predictor

    predictor = load_predictor(args.checkpoint)
    data = load(args.data)
    scores = predictor.predict(data, device=args.device)
    if args.format == "scores":
        text = "\n".join(f"{s:.9g}" for s in scores.tolist()) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    tag = args.run_name or str((predictor.checkpoint.get("config") or {}).get("name", "rankwise"))
    counts = data.list_lengths()
    qids = np.repeat(np.asarray([str(q) for q in data.qids.tolist()]), counts)
    if data.docids is not None:
        docids = np.asarray(data.docids, dtype=str)
    else:  # no document ids in the data: position within the query
        docids = np.concatenate([np.arange(n) for n in counts]).astype(str)
    run_ = TrecRun(
        qids, docids, np.asarray(scores, dtype=np.float64), np.zeros(qids.size, np.int64), tag
    )
    if args.output:
        write_trec_run(run_, args.output)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "run.trec"
            write_trec_run(run_, path)
            sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0
