"""``rankwise data stats PATH`` and ``rankwise data convert IN OUT``."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from rankwise.data.formats import detect_format, load, save
from rankwise.data.ranking_data import RankingData
from rankwise.data.stats import data_statistics


def register(commands: Any) -> None:
    """Add the ``data stats`` and ``data convert`` commands to the CLI."""
    data = commands.add_parser("data", help="inspect and convert ranking data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    stats = sub.add_parser("stats", help="statistics of a data set (SVMlight, Parquet or cache)")
    stats.add_argument("path")
    _reader_options(stats)
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(handler=run_stats)

    convert = sub.add_parser(
        "convert",
        help="convert between SVMlight (.txt[.gz|.xz|.bz2]), Parquet (.parquet) and cache "
        "(.rwcache directory)",
    )
    convert.add_argument("input")
    convert.add_argument("output")
    _reader_options(convert)
    convert.add_argument(
        "--to", choices=["svmlight", "parquet", "cache"], help="output format (default: suffix)"
    )
    convert.add_argument(
        "--layout",
        choices=["columns", "list"],
        default="columns",
        help="Parquet: one column per feature (default) or one list column",
    )
    convert.add_argument(
        "--sparse", action="store_true", help="SVMlight: leave zero-valued features out"
    )
    convert.add_argument(
        "--group-file-out",
        action="store_true",
        help="SVMlight: LightGBM's layout, lines without qid: and OUTPUT.query of group sizes",
    )
    convert.set_defaults(handler=run_convert)


def _reader_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reading options")
    g.add_argument("--num-features", type=int, help="expected number of features")
    g.add_argument(
        "--nonfinite",
        choices=["error", "fill"],
        default="error",
        help="NULL/NaN/inf feature values: stop with an error (default) or fill them",
    )
    g.add_argument("--fill-value", type=float, default=0.0, help="value used by --nonfinite fill")
    g.add_argument(
        "--noncontiguous",
        choices=["error", "group"],
        default="error",
        help="a query whose lines are interrupted by another: error (default) or regroup",
    )
    g.add_argument("--max-label", type=float, help="largest allowed label (default: none)")
    g.add_argument(
        "--no-cache", action="store_true", help="SVMlight: parse without the binary cache"
    )
    g.add_argument(
        "--group-file",
        help="SVMlight without qid: (LightGBM's layout): the file of group sizes "
        "(default: PATH.query or PATH.group when it exists)",
    )


def _read(path: str, args: argparse.Namespace) -> RankingData:
    kind = detect_format(path)
    options: dict[str, Any] = {}
    if kind in ("svmlight", "parquet"):
        options.update(
            nonfinite=args.nonfinite,
            fill_value=args.fill_value,
            noncontiguous=args.noncontiguous,
            max_label=args.max_label,
        )
    if kind == "svmlight":
        options.update(num_features=args.num_features, cache=not args.no_cache, progress=True)
        if args.group_file:
            options["group_file"] = args.group_file
    return load(path, format=kind, **options)


def run_stats(args: argparse.Namespace) -> int:
    """Run ``rankwise data stats``."""
    from rankwise.report.statistics import render_statistics

    started = time.perf_counter()
    data = _read(args.path, args)
    stats = data_statistics(data)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    render_statistics(stats, title=args.path, console=Console())
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Run ``rankwise data convert``."""
    console = Console(stderr=True)
    data = _read(args.input, args)
    kind = args.to or detect_format(args.output, for_writing=True)
    options: dict[str, Any] = {}
    if kind == "parquet":
        options["layout"] = args.layout
    elif kind == "svmlight":
        options.update(sparse=args.sparse, progress=True, group_file=args.group_file_out)
    save(data, args.output, format=kind, **options)
    console.print(
        escape(
            f"wrote {data.num_queries:,} queries, {data.num_documents:,} documents, "
            f"{data.num_features} features to {args.output} ({kind})"
        )
    )
    if data.report is not None:
        for note in data.report.notes():
            console.print(f"[yellow]note:[/] {escape(note)}")
    return 0
