"""Training from data larger than memory: query-aligned Parquet shards streamed by
:class:`rankwise.data.streaming.ShardStream`, against the in-memory path.

    .venv/bin/python benchmarks/bench_streaming.py --gigabytes 4.2 --work /tmp/stream

1. Generates an MSLR-shaped data set (136 float32 features, list lengths log-normal
   around 120, graded labels 0-4 from a noisy linear score) in chunks, written by
   ``write_shards`` into 8 shards (LZ4), until the shards take ``--gigabytes`` on disk;
   the whole is never in memory.
2. In a fresh process: one training epoch of an MLP (136-128-64-1, ListNet, Adam, 64
   lists per batch) from the stream (buffer of 4,096 queries); documents/s and the
   process's peak resident memory (``ru_maxrss``).
3. On a subset that fits in memory (``--subset`` queries): one epoch in memory
   (``make_loader`` over a ``RankingData``) and one from shards of the same queries, each
   in a fresh process; the throughput ratio.
4. The same two data sets as binary caches (``save_cache``; written from the shards
   read whole, in the generating process), streamed with ``ShardStream`` (blocks of
   whole queries by positioned reads, every checksum verified when the stream opens):
   the same epoch, documents/s and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from _machine import cpu_model

WIDTH = 136


def chunks(queries: int, seed: int, start: int = 0) -> Iterator:
    from rankwise.data.ranking_data import RankingData

    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(WIDTH).astype(np.float32)
    done = 0
    while done < queries:
        n = min(2000, queries - done)
        lengths = np.clip(rng.lognormal(np.log(110), 0.5, n).astype(int), 1, 1000)
        docs = int(lengths.sum())
        features = rng.standard_normal((docs, WIDTH), dtype=np.float32)
        score = features @ weights / np.sqrt(WIDTH) + rng.standard_normal(docs, dtype=np.float32)
        labels = np.digitize(score, [0.5, 1.2, 1.8, 2.4]).astype(np.float32)
        qids = np.repeat(np.arange(start + done, start + done + n), lengths)
        yield RankingData.from_documents(features, labels, qids.astype(str))
        done += n


def generate(directory: Path, gigabytes: float) -> dict:
    from rankwise.data.streaming import write_shards

    started = time.perf_counter()
    # about 0.55 KB per document on disk (random floats do not compress)
    per_query_bytes = 110 * 1.13 * WIDTH * 4
    queries = int(gigabytes * 1e9 / per_query_bytes)
    write_shards(chunks(queries, seed=0), directory, shards=8, queries_per_group=256)
    size = sum(p.stat().st_size for p in directory.glob("part-*.parquet"))
    return {"queries": queries, "bytes": size, "seconds": time.perf_counter() - started}


def read_shards_whole(source: Path):
    """Every query of a shard directory, in memory."""
    import pyarrow.parquet as pq

    from rankwise.data.ranking_data import RankingData

    parts = []
    for path in sorted(source.glob("part-*.parquet")):
        table = pq.read_table(path)
        features = table.column("features").combine_chunks().values.to_numpy()
        parts.append(
            RankingData.from_documents(
                features.reshape(-1, WIDTH),
                table.column("label").to_numpy(),
                table.column("qid").to_numpy(zero_copy_only=False),
            )
        )
    return RankingData.concat(parts)


def as_cache(shards: Path, cache: Path) -> None:
    """Write the shards as a binary cache, in a child process: a process's peak resident
    memory (``ru_maxrss``) carries over into the processes it starts, so this one must
    never hold the data whole."""
    if not (cache / "meta.json").exists():
        subprocess.run(
            [sys.executable, __file__, "--make-cache", str(shards), str(cache)], check=True
        )


def train(source: str, mode: str) -> dict:
    """One epoch in this process; ``mode`` is ``stream`` (source: a shard directory) or
    ``memory`` (source: a shard directory read whole first)."""
    import torch

    from rankwise.data.dataset import make_loader
    from rankwise.data.streaming import ShardStream
    from rankwise.losses import SoftmaxLoss
    from rankwise.models import MLPScorer
    from rankwise.train.tasks import ListRankingTask
    from rankwise.train.trainer import Trainer

    torch.manual_seed(0)
    if mode == "stream":  # a shard directory or a binary cache
        loader = ShardStream(source, 64, buffer_queries=4096)
    else:
        loader = make_loader(read_shards_whole(Path(source)), 64, shuffle=True)
    model = MLPScorer(WIDTH, hidden=[128, 64])
    trainer = Trainer(
        model,
        ListRankingTask(SoftmaxLoss()),
        torch.optim.Adam(model.parameters(), lr=1e-3),
        loader,
        epochs=1,
    )
    result = trainer.fit()
    row = result.history[0]
    return {
        "docs_per_s": row["docs_per_s"],
        "seconds": row["seconds"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_fresh_process(source: Path, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--train", str(source), "--mode", mode],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=4.2)
    parser.add_argument("--subset", type=int, default=6000)
    parser.add_argument("--work", default="bench-stream")
    parser.add_argument(
        "--reuse", action="store_true", help="keep data already generated in --work"
    )
    parser.add_argument("--train", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="stream", help=argparse.SUPPRESS)
    parser.add_argument("--make-cache", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_cache:
        from rankwise.data.cache import save_cache

        save_cache(read_shards_whole(Path(args.make_cache[0])), args.make_cache[1])
        return
    if args.train:
        print(json.dumps(train(args.train, args.mode)))
        return
    from rankwise.data.streaming import write_shards

    work = Path(args.work)
    big, small = work / "big", work / "subset"
    if args.reuse and (big / "manifest.json").exists():
        from rankwise.data.streaming import read_manifest

        made = {
            "queries": sum(g.queries for g in read_manifest(big)[1]),
            "bytes": sum(p.stat().st_size for p in big.glob("part-*.parquet")),
            "seconds": 0.0,
        }
    else:
        made = generate(big, args.gigabytes)
        write_shards(chunks(args.subset, seed=1), small, shards=8, queries_per_group=256)
    print(
        f"generated {made['queries']:,} queries, {made['bytes'] / 1e9:.2f} GB in "
        f"{made['seconds']:.0f} s",
        flush=True,
    )
    streamed = in_fresh_process(big, "stream")
    memory = in_fresh_process(small, "memory")
    subset_stream = in_fresh_process(small, "stream")
    big_cache, small_cache = work / "big.rwcache", work / "subset.rwcache"
    as_cache(big, big_cache)
    as_cache(small, small_cache)
    cache_size = sum(p.stat().st_size for p in big_cache.glob("*.npy"))
    cache_streamed = in_fresh_process(big_cache, "stream")
    subset_cache_stream = in_fresh_process(small_cache, "stream")
    import torch

    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
        f"threads {torch.get_num_threads()}"
    )
    print("| data | path | documents/s | epoch s | peak RSS MB |\n|---|---|---|---|---|")
    print(
        f"| {made['bytes'] / 1e9:.2f} GB on disk, {made['queries']:,} queries | stream | "
        f"{streamed['docs_per_s']:,.0f} | {streamed['seconds']:.0f} | "
        f"{streamed['peak_rss_mb']:,.0f} |"
    )
    print(
        f"| {cache_size / 1e9:.2f} GB binary cache, the same queries | cache stream | "
        f"{cache_streamed['docs_per_s']:,.0f} | {cache_streamed['seconds']:.0f} | "
        f"{cache_streamed['peak_rss_mb']:,.0f} |"
    )
    for name, r in (
        ("in memory", memory),
        ("stream", subset_stream),
        ("cache stream", subset_cache_stream),
    ):
        print(
            f"| {args.subset:,} queries (fits in memory) | {name} | {r['docs_per_s']:,.0f} | "
            f"{r['seconds']:.0f} | {r['peak_rss_mb']:,.0f} |"
        )
    for name, r in (("stream", subset_stream), ("cache stream", subset_cache_stream)):
        print(
            f"in-memory / {name} throughput on the subset: "
            f"{memory['docs_per_s'] / r['docs_per_s']:.2f}x"
        )


if __name__ == "__main__":
    main()
