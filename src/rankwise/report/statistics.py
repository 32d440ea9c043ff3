"""The tables of ``rankwise data stats``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def render_statistics(stats: dict[str, Any], title: str, console: Console) -> None:
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
