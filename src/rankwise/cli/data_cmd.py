"""``rankwise data stats PATH`` and ``rankwise data convert IN OUT``."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rankwise.data.formats import detect_format, load, save
from rankwise.data.ranking_data import RankingData
from rankwise.data.stats import data_statistics


def register(commands: Any) -> None:
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
    return load(path, format=kind, **options)


def run_stats(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    data = _read(args.path, args)
    stats = data_statistics(data)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print_statistics(stats, title=args.path, console=Console())
    return 0


def print_statistics(stats: dict[str, Any], title: str, console: Console) -> None:
    """Render :func:`data_statistics` as tables."""
    table = Table(title=escape(title), show_header=False, title_justify="left")
    table.add_column("statistic", style="bold")
    table.add_column("value", justify="right")
    table.add_row("queries", f"{stats['queries']:,}")
    table.add_row("documents", f"{stats['documents']:,}")
    table.add_row("features", f"{stats['features']:,}")
    if "list_length" in stats:
        ll = stats["list_length"]
        table.add_row(
            "list length min / median / mean / max",
            f"{ll['min']} / {ll['median']:g} / {ll['mean']:.1f} / {ll['max']}",
        )
    table.add_row("lists with no relevant item", f"{stats['lists_without_relevant']:,}")
    table.add_row("lists of length 1", f"{stats['lists_of_length_one']:,}")
    constant = stats["constant_features"]
    shown = ", ".join(map(str, constant[:20])) + (" ..." if len(constant) > 20 else "")
    table.add_row("constant features", f"{len(constant)}" + (f" ({shown})" if constant else ""))
    table.add_row("document ids", "yes" if stats["has_docids"] else "no")
    if "load" in stats:
        load_info = stats["load"]
        source = "cache" if load_info.get("from_cache") else "parsed"
        table.add_row("loaded from", source)
    console.print(table)

    labels = Table(title="labels", title_justify="left")
    labels.add_column("label", justify="right")
    labels.add_column("documents", justify="right")
    labels.add_column("share", justify="right")
    total = max(stats["documents"], 1)
    for label, count in stats["label_histogram"].items():
        labels.add_row(label, f"{count:,}", f"{count / total:.1%}")
    lengths = Table(title="list lengths", title_justify="left")
    lengths.add_column("documents per list", justify="right")
    lengths.add_column("lists", justify="right")
    for bucket, count in stats["list_length_histogram"].items():
        lengths.add_row(bucket, f"{count:,}")
    console.print(labels)
    console.print(lengths)
    for note in stats.get("notes", []):
        console.print(f"[yellow]note:[/] {escape(note)}")


def run_convert(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    data = _read(args.input, args)
    kind = args.to or detect_format(args.output, for_writing=True)
    options: dict[str, Any] = {}
    if kind == "parquet":
        options["layout"] = args.layout
    elif kind == "svmlight":
        options.update(sparse=args.sparse, progress=True)
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
