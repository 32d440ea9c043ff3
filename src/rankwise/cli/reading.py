"""Reading ranking data in the CLI: one set of reader flags for every command that reads
data (``data``, ``evaluate --data``, ``predict``)."""

from __future__ import annotations

import argparse
from typing import Any

from rankwise.data.formats import detect_format, load
from rankwise.data.ranking_data import RankingData


def add_reader_options(p: argparse.ArgumentParser) -> None:
    """The options of the data readers, one flag per reader keyword (the flags that
    errors' remedies name)."""
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
        "--feature-columns",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        help="Parquet: the feature columns, comma-separated, in order (default: 'features' "
        "or f1..fF)",
    )
    g.add_argument("--allow-empty", action="store_true", help="accept a file without any document")
    g.add_argument(
        "--no-cache", action="store_true", help="SVMlight: parse without the binary cache"
    )
    g.add_argument(
        "--group-file",
        help="SVMlight without qid: (LightGBM's layout): the file of group sizes "
        "(default: PATH.query or PATH.group when it exists)",
    )


def data_from_args(path: str, args: argparse.Namespace) -> RankingData:
    """Read ``path`` (any format) with the options :func:`add_reader_options` added."""
    kind = detect_format(path)
    options: dict[str, Any] = {}
    if kind in ("svmlight", "parquet"):
        options.update(
            nonfinite=args.nonfinite,
            fill_value=args.fill_value,
            noncontiguous=args.noncontiguous,
            max_label=args.max_label,
            allow_empty=args.allow_empty,
        )
    if kind == "parquet" and args.feature_columns:
        options["feature_columns"] = args.feature_columns
    if kind == "svmlight":
        options.update(num_features=args.num_features, cache=not args.no_cache, progress=True)
        if args.group_file:
            options["group_file"] = args.group_file
    return load(path, format=kind, **options)
