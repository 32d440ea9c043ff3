"""``rankwise demo``: the data pipeline end to end on the embedded synthetic data.

generate -> write SVMlight -> parse -> cache -> reload -> batch, with timings and the
data set's statistics. (Once rankwise has a trainer, the demo trains on this data.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rankwise.cli.data_cmd import print_statistics


def register(commands: Any) -> None:
    p = commands.add_parser("demo", help="run rankwise end to end on the embedded synthetic data")
    p.add_argument("--queries", type=int, default=1000, help="number of synthetic queries")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="demo-data", help="where the demo writes its files")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rankwise.data import (
        data_statistics,
        load_cache,
        make_loader,
        make_synthetic,
        read_svmlight,
        save_cache,
        write_svmlight,
    )

    console = Console()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, float, str]] = []

    def step(name: str, detail: str, started: float) -> None:
        steps.append((name, time.perf_counter() - started, detail))

    t = time.perf_counter()
    data = make_synthetic(args.queries, seed=args.seed)
    step("generate", f"{data.num_queries:,} queries, {data.num_documents:,} documents", t)

    path = work / "synthetic.txt"
    t = time.perf_counter()
    write_svmlight(data, path)
    step("write SVMlight", f"{path} ({path.stat().st_size / 1e6:.1f} MB)", t)

    t = time.perf_counter()
    parsed = read_svmlight(path, progress=True)
    seconds = time.perf_counter() - t
    step("parse", f"{path.stat().st_size / 1e6 / max(seconds, 1e-9):.0f} MB/s", t)
    same = (
        (parsed.features == data.features).all()
        and (parsed.labels == data.labels).all()
        and (parsed.qids == data.qids).all()
    )
    if not same:
        raise RuntimeError("the parsed data differ from the generated data")

    cache_dir = work / "synthetic.rwcache"
    t = time.perf_counter()
    save_cache(parsed, cache_dir)
    step("write cache", str(cache_dir), t)

    t = time.perf_counter()
    cached = load_cache(cache_dir)
    step("reload cache", "memory-mapped", t)

    t = time.perf_counter()
    loader = make_loader(cached, batch_size=64, shuffle=True, max_list_length=120)
    batches = 0
    padded = real = 0
    for batch in loader:
        batches += 1
        padded += batch.mask.numel()
        real += batch.num_documents
    step("batch", f"{batches} batches, {real / max(padded, 1):.0%} of slots are real items", t)

    table = Table(title="rankwise demo: data pipeline", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("detail")
    for name, seconds, detail in steps:
        table.add_row(name, f"{seconds:.3f}", detail)
    console.print(table)
    console.print("round trip: parsed data identical to the generated data")
    print_statistics(data_statistics(cached), title="synthetic data set", console=console)
    return 0
