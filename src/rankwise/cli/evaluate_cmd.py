"""``rankwise evaluate``: metrics of TREC runs against qrels, or of scored ranking data.

    rankwise evaluate --run RUN [--run RUN2 ...] --qrels QRELS -m ndcg@10 -m map
    rankwise evaluate --data DATA --scores SCORES -m ndcg@10
    rankwise evaluate --data DATA --checkpoint RUN_DIR_OR_CKPT [--checkpoint ...]

With several runs the first is the baseline: the table marks significant differences
(paired test, corrected for the number of comparisons) and shows bootstrap intervals.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from rankwise.cli.reading import add_reader_options, data_from_args

DEFAULT_METRICS = ["ndcg@10", "map", "mrr@10"]


def register(commands: Any) -> None:
    """Add the ``evaluate`` command to the CLI."""
    p = commands.add_parser(
        "evaluate",
        help="evaluate TREC runs against qrels, or scores of a data set",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("what to evaluate (runs + qrels, or data + scores)")
    src.add_argument("--run", action="append", default=[], help="TREC run file (repeatable)")
    src.add_argument("--qrels", help="TREC qrels file")
    src.add_argument("--data", help="ranking data with labels (SVMlight, Parquet or cache)")
    src.add_argument(
        "--scores",
        action="append",
        default=[],
        help="scores for --data: a text file with one score per document, or for Parquet "
        "data a column name (repeatable, one per system)",
    )
    src.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="a trained model (checkpoint file or run directory) to score --data with "
        "(repeatable); its feature transform is applied first",
    )
    add_reader_options(p)
    p.add_argument(
        "-m",
        "--metric",
        action="append",
        dest="metrics",
        help=f"metric (default {DEFAULT_METRICS})",
    )
    conv = p.add_argument_group("conventions (defaults for every metric; a metric string wins)")
    conv.add_argument("--gain", choices=["exp2", "linear"])
    conv.add_argument("--empty", choices=["zero", "one", "skip"])
    conv.add_argument("--ties", choices=["average", "pessimistic", "optimistic", "stable"])
    conv.add_argument(
        "--missing",
        choices=["ignore", "zero"],
        default="ignore",
        help="judged queries absent from a run: leave out (default) or count as 0 (trec_eval -c)",
    )
    stats = p.add_argument_group("comparison")
    stats.add_argument("--test", choices=["t", "wilcoxon", "randomization"], default="t")
    stats.add_argument("--correction", choices=["none", "bonferroni", "holm", "bh"], default="holm")
    stats.add_argument("--alpha", type=float, default=0.05)
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=["table", "json"], default="table")
    out.add_argument("--per-query", metavar="TSV", help="also write per-query values as TSV")
    out.add_argument("--no-ci", action="store_true", help="leave intervals out of the table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``rankwise evaluate`` (module docstring)."""
    from rankwise.metrics.evaluation import Evaluation, write_per_query
    from rankwise.report.comparison import compare, render_comparison

    defaults = {
        k: v for k, v in (("gain", args.gain), ("empty", args.empty), ("ties", args.ties)) if v
    }
    metrics = args.metrics or DEFAULT_METRICS
    evaluations: dict[str, Evaluation] = {}
    if args.run:
        if not args.qrels or args.data:
            raise ValueError("--run needs --qrels (and no --data)")
        evaluations = _runs(args, metrics, defaults)
    elif args.data:
        if not args.scores and not args.checkpoint:
            raise ValueError("--data needs --scores or --checkpoint")
        evaluations = _scored(args, metrics, defaults)
    else:
        raise ValueError("give --run with --qrels, or --data with --scores or --checkpoint")
    comparison = compare(evaluations, test=args.test, correction=args.correction, alpha=args.alpha)
    if args.per_query:
        write_per_query(args.per_query, evaluations)
    if args.format == "json":
        result = comparison.to_dict()
        result["queries"] = {n: len(e.qids) for n, e in evaluations.items()}
        result["lists_without_relevant"] = {
            n: e.lists_without_relevant for n, e in evaluations.items()
        }
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        console = Console()
        render_comparison(comparison, console, show_ci=not args.no_ci)
        for name, e in evaluations.items():
            summary = f"{name}: {len(e.qids)} queries, {e.lists_without_relevant} without"
            console.print(escape(summary + " a relevant item"))
            for note in e.notes:
                console.print(f"[yellow]note ({escape(name)}):[/] {escape(note)}")
    return 0


def _runs(args: argparse.Namespace, metrics: list[str], defaults: dict[str, str]) -> dict[str, Any]:
    from rankwise.runs import evaluate_run
    from rankwise.runs.trec import read_qrels, read_trec_run

    qrels = read_qrels(args.qrels)
    out: dict[str, Any] = {}
    for path in args.run:
        name = _unique(Path(path).name, out)
        out[name] = evaluate_run(
            read_trec_run(path), qrels, metrics, defaults=defaults, missing=args.missing
        )
    return out


def _scored(
    args: argparse.Namespace, metrics: list[str], defaults: dict[str, str]
) -> dict[str, Any]:
    from rankwise.data.formats import read_scores
    from rankwise.errors import DataFormatError
    from rankwise.metrics.evaluation import evaluate_scores

    data = data_from_args(args.data, args)
    out: dict[str, Any] = {}
    for spec in args.scores:
        name, scores = read_scores(spec, args.data)
        if scores.size != data.num_documents:
            raise DataFormatError(
                f"--scores {spec}: {scores.size} scores for the {data.num_documents} "
                f"documents of {args.data} (one score per document, in the data's order)"
            )
        out[_unique(name, out)] = evaluate_scores(data, scores, metrics, defaults=defaults)
    if args.checkpoint:
        from rankwise.train.predict import load_predictor

        for path in args.checkpoint:
            predictor = load_predictor(path)
            scores = predictor.predict(data)
            name = _checkpoint_name(path)
            out[_unique(name, out)] = evaluate_scores(data, scores, metrics, defaults=defaults)
    return out


def _checkpoint_name(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        return p.name
    # runs/NAME/checkpoints/best.pt -> NAME
    return p.parent.parent.name if p.parent.name == "checkpoints" else p.stem


def _unique(name: str, taken: dict[str, Any]) -> str:
    candidate, i = name, 2
    while candidate in taken:
        candidate = f"{name}#{i}"
        i += 1
    return candidate
