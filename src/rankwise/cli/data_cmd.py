"""``rankwise data stats PATH`` and ``rankwise data convert IN OUT``."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from rankwise.cli.reading import add_reader_options, data_from_args
from rankwise.data.formats import detect_format, save
from rankwise.data.stats import data_statistics


def register(commands: Any) -> None:
    """Add the ``data stats`` and ``data convert`` commands to the CLI."""
    data = commands.add_parser("data", help="inspect and convert ranking data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    stats = sub.add_parser("stats", help="statistics of a data set (SVMlight, Parquet or cache)")
    stats.add_argument("path")
    add_reader_options(stats)
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(handler=run_stats)

    convert = sub.add_parser(
        "convert",
        help="convert between SVMlight (.txt[.gz|.xz|.bz2]), Parquet (.parquet) and cache "
        "(.rwcache directory)",
    )
    convert.add_argument("input")
    convert.add_argument("output")
    add_reader_options(convert)
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
    convert.add_argument(
        "--shards",
        type=int,
        default=None,
        metavar="K",
        help="write OUTPUT as a directory of K query-aligned Parquet shards with a manifest, "
        "for streaming training (rankwise.data.streaming)",
    )
    convert.add_argument(
        "--queries-per-group",
        type=int,
        default=512,
        help="--shards: whole queries per Parquet row group (default 512)",
    )
    convert.set_defaults(handler=run_convert)


def run_stats(args: argparse.Namespace) -> int:
    """Run ``rankwise data stats``."""
    from rankwise.report.statistics import render_statistics

    started = time.perf_counter()
    data = data_from_args(args.path, args)
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
    data = data_from_args(args.input, args)
    if args.shards is not None:
        from rankwise.data.streaming import write_shards

        manifest = write_shards(
            data, args.output, shards=args.shards, queries_per_group=args.queries_per_group
        )
        console.print(
            escape(
                f"wrote {data.num_queries:,} queries, {data.num_documents:,} documents in "
                f"{args.shards} shards to {args.output} ({manifest.name})"
            )
        )
        return 0
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
