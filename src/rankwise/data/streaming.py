"""Ranking data larger than memory: query-aligned Parquet shards, streamed.

:func:`write_shards` writes a data set (or an iterable of chunks of one, so that the
whole never has to fit in memory) as ``K`` Parquet files whose row groups each hold
whole queries, and a ``manifest.json`` with every row group's query and document
counts. :class:`ShardStream` trains from such a directory: each epoch it shuffles the
row groups (seeded by ``seed + epoch``), reads them one at a time in a background
thread, and shuffles queries within a bounded buffer before batching them, so memory
is bounded by the buffer, whatever the data's size.

Under ``torchrun`` every process reads its own row groups (the ``rank``-th of every
``world``); the number of batches per epoch is the same on every process (the fewest any
process can fill, from the manifest), and the queries left over are counted in
``dropped_queries``. Alone, every query is used each epoch.

``rankwise data convert IN OUT --shards K`` writes such a directory.

A binary cache directory (:mod:`rankwise.data.cache`, ``rankwise data convert IN
OUT.rwcache``) streams the same way: its queries are cut into blocks of
``CACHE_BLOCK_QUERIES`` whole queries that play the part of row groups, read with
positioned file reads (not through a memory map, whose touched pages would stay
resident), its checksums verified when the stream opens (``cache_check``).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from rankwise.data._io import CacheCheck, PathLike
from rankwise.data.dataset import QueryItem, RankingBatch, RankingCollator
from rankwise.data.parquet import ranking_table
from rankwise.data.ranking_data import RankingData
from rankwise.data.transforms import FeatureTransform
from rankwise.errors import DataFormatError

MANIFEST = "manifest.json"
FORMAT = "rankwise-shards/1"
#: Queries per block when a binary cache is streamed (the blocks are its row groups).
CACHE_BLOCK_QUERIES = 512


@dataclass(frozen=True)
class RowGroup:
    """One row group of a shard: whole queries."""

    file: str
    index: int
    queries: int
    documents: int


def write_shards(
    data: RankingData | Iterable[RankingData],
    directory: PathLike,
    *,
    shards: int = 1,
    queries_per_group: int = 512,
    compression: str = "lz4",
) -> Path:
    """Write ``data`` into ``directory`` as ``shards`` query-aligned Parquet files.

    Queries are cut into row groups of ``queries_per_group`` whole queries, dealt to
    the shards in turn (``part-00000.parquet`` ...; the list layout, one fixed-size list
    column ``features``); ``data`` may be one :class:`RankingData` or an iterable of
    chunks (each chunk's queries are whole). ``compression`` defaults to LZ4, which
    decodes about twice as fast as zstd; feature values barely compress either way, and
    a stream must decode as fast as the model trains. Returns the manifest's path.

    Raises:
        ValueError: ``shards`` or ``queries_per_group`` below 1, or chunks of different
            feature widths.
    """
    if shards < 1 or queries_per_group < 1:
        raise ValueError(
            f"shards and queries_per_group must be >= 1, got {shards} and {queries_per_group}"
        )
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    chunks = [data] if isinstance(data, RankingData) else data
    names = [f"part-{k:05d}.parquet" for k in range(shards)]
    writers: list[pq.ParquetWriter | None] = [None] * shards
    groups: list[list[dict[str, int]]] = [[] for _ in range(shards)]
    width: int | None = None
    dealt = 0
    try:
        for chunk in chunks:
            if width is None:
                width = chunk.num_features
            elif chunk.num_features != width:
                raise ValueError(
                    f"a chunk has {chunk.num_features} features, the first had {width}"
                )
            for start in range(0, chunk.num_queries, queries_per_group):
                part = chunk.select_queries(
                    np.arange(start, min(start + queries_per_group, chunk.num_queries))
                )
                table = ranking_table(part, "list")
                k = dealt % shards
                dealt += 1
                if writers[k] is None:
                    writers[k] = pq.ParquetWriter(
                        root / names[k], table.schema, compression=compression
                    )
                writer = writers[k]
                assert writer is not None
                writer.write_table(table, row_group_size=table.num_rows)
                groups[k].append({"queries": part.num_queries, "documents": part.num_documents})
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    manifest = {
        "format": FORMAT,
        "num_features": width,
        "shards": [{"file": names[k], "row_groups": groups[k]} for k in range(shards) if groups[k]],
    }
    path = root / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(directory: PathLike) -> tuple[int, list[RowGroup]]:
    """``(num_features, row groups)`` of a directory written by :func:`write_shards`.

    Raises:
        DataFormatError: no manifest, another format, or a listed file missing.
    """
    root = Path(directory)
    path = root / MANIFEST
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFormatError(
            f"{root}: not a shard directory ({MANIFEST}: {exc}); write one with "
            "`rankwise data convert IN OUT --shards K`"
        ) from None
    if content.get("format") != FORMAT:
        raise DataFormatError(f"{path}: format {content.get('format')!r}, expected {FORMAT!r}")
    groups = []
    for shard in content["shards"]:
        if not (root / shard["file"]).exists():
            raise DataFormatError(f"{path}: lists {shard['file']}, which is missing")
        for i, g in enumerate(shard["row_groups"]):
            groups.append(RowGroup(shard["file"], i, int(g["queries"]), int(g["documents"])))
    return int(content["num_features"]), groups


def is_shard_directory(path: PathLike) -> bool:
    """Whether ``path`` is a directory written by :func:`write_shards`."""
    return (Path(path) / MANIFEST).is_file()


def is_stream_source(path: PathLike) -> bool:
    """Whether ``path`` can be streamed: a shard directory or a binary cache directory."""
    root = Path(path)
    return is_shard_directory(root) or (root / "meta.json").is_file()


def stream_queries(directory: PathLike) -> int:
    """The number of queries a shard directory or a binary cache directory streams."""
    root = Path(directory)
    if is_shard_directory(root):
        return sum(g.queries for g in read_manifest(root)[1])
    qids = np.load(root / "qids.npy", mmap_mode="r", allow_pickle=False)
    return int(qids.shape[0])


def read_sample(
    directory: PathLike, queries: int, *, cache_check: CacheCheck = "fast"
) -> RankingData:
    """The first row groups of a shard directory (or blocks of a binary cache), in
    order, until they hold at least ``queries`` queries (all of them when there are
    fewer): what a run fits its feature transform on when the training data stream."""
    root = Path(directory)
    source = _source(root, cache_check)
    items: list[QueryItem] = []
    for g in source.groups:
        if len(items) >= queries:
            break
        items += source.read(g)
    lengths = [i.labels.size for i in items]
    return RankingData.from_documents(
        np.concatenate([i.features for i in items]),
        np.concatenate([i.labels for i in items]),
        np.repeat(np.asarray([i.qid for i in items]), lengths),
        source=f"{root} (first {len(items)} queries)",
    )


def _queries(table: pa.Table, where: str) -> list[QueryItem]:
    """The queries of one row group (rows of a query are contiguous, as written)."""
    column = table.column("features").combine_chunks()
    width = column.type.list_size
    features = column.values.to_numpy(zero_copy_only=False).reshape(-1, width)
    if not np.isfinite(features).all():
        raise DataFormatError(f"{where}: a non-finite feature value")
    labels = table.column("label").to_numpy().astype(np.float32, copy=False)
    qid = table.column("qid").combine_chunks()
    n = len(qid)
    if n == 0:
        return []
    # where the qid changes, compared in Arrow (no Python object per document row)
    change = pc.not_equal(qid.slice(1), qid.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.concatenate([[True], change]))
    ends = np.concatenate([starts[1:], [n]])
    qids = qid.take(pa.array(starts)).to_numpy(zero_copy_only=False)
    # Copies: a buffered query must not keep its whole row group's arrays alive, or
    # memory would grow with the number of row groups the buffer has touched.
    return [
        QueryItem(features[a:b].copy(), labels[a:b].copy(), q, -1)
        for a, b, q in zip(starts, ends, qids, strict=True)
    ]


class _ParquetShards:
    """The row groups of a shard directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.num_features, self.groups = read_manifest(root)
        self.files: dict[str, pq.ParquetFile] = {}

    def read(self, group: RowGroup) -> list[QueryItem]:
        if group.file not in self.files:
            self.files[group.file] = pq.ParquetFile(self.root / group.file)
        table = self.files[group.file].read_row_group(group.index, use_threads=False)
        return _queries(table, f"{self.root / group.file}: row group {group.index}")


class _CacheBlocks:
    """Blocks of ``CACHE_BLOCK_QUERIES`` whole queries of a binary cache, read with
    positioned reads of its ``.npy`` files."""

    def __init__(self, root: Path, check: CacheCheck) -> None:
        from rankwise.data.cache import npy_data_offset, read_cache_meta, verify_array_file

        self.root = root
        meta = read_cache_meta(root)
        checksums = meta.get("checksums") or {}
        names = ("features", "labels", "query_offsets", "qids")
        for name in names:
            path = root / f"{name}.npy"
            if not path.is_file():
                raise DataFormatError(f"{root}: cache entry lacks {name}.npy")
            if check == "full":  # streamed from the file: no array stays resident
                verify_array_file(path, checksums.get(name))
        self.offsets = np.load(root / "query_offsets.npy", allow_pickle=False).astype(np.int64)
        self.qids = np.load(root / "qids.npy", allow_pickle=False)
        self.dtypes: dict[str, np.dtype[Any]] = {}
        self.starts: dict[str, int] = {}
        shapes = {}
        for name in ("features", "labels"):
            header = np.load(root / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            self.dtypes[name], shapes[name] = header.dtype, header.shape
            self.starts[name] = npy_data_offset(root / f"{name}.npy")
            del header
        documents = int(self.offsets[-1]) if self.offsets.size else 0
        if shapes["features"][0] != documents or shapes["labels"] != (documents,):
            raise DataFormatError(
                f"{root}: features {shapes['features']} and labels {shapes['labels']} do not "
                f"match the {documents} documents of query_offsets.npy"
            )
        self.num_features = int(shapes["features"][1])
        self.groups = []
        for index, lo in enumerate(range(0, self.qids.size, CACHE_BLOCK_QUERIES)):
            hi = min(lo + CACHE_BLOCK_QUERIES, self.qids.size)
            documents = int(self.offsets[hi] - self.offsets[lo])
            self.groups.append(RowGroup("features.npy", index, hi - lo, documents))

    def _rows(self, name: str, first: int, count: int, width: int) -> npt.NDArray[Any]:
        dtype = self.dtypes[name]
        with open(self.root / f"{name}.npy", "rb") as f:
            f.seek(self.starts[name] + first * width * dtype.itemsize)
            out = np.fromfile(f, dtype=dtype, count=count * width)
        if out.size != count * width:
            raise DataFormatError(f"{self.root / name}.npy: shorter than its header says")
        return out.reshape(count, width) if width > 1 else out

    def read(self, group: RowGroup) -> list[QueryItem]:
        lo = group.index * CACHE_BLOCK_QUERIES
        hi = lo + group.queries
        first, last = int(self.offsets[lo]), int(self.offsets[hi])
        features = self._rows("features", first, last - first, self.num_features)
        labels = self._rows("labels", first, last - first, 1).astype(np.float32, copy=False)
        cuts = self.offsets[lo : hi + 1] - first
        # copies, as in _queries: a buffered query must not keep its whole block alive
        return [
            QueryItem(
                features[cuts[k] : cuts[k + 1]].copy(),
                labels[cuts[k] : cuts[k + 1]].copy(),
                self.qids[lo + k],
                -1,
            )
            for k in range(hi - lo)
        ]


def _source(root: Path, cache_check: CacheCheck) -> _ParquetShards | _CacheBlocks:
    if is_shard_directory(root):
        return _ParquetShards(root)
    if (root / "meta.json").is_file():
        return _CacheBlocks(root, cache_check)
    raise DataFormatError(
        f"{root}: neither a shard directory ({MANIFEST}) nor a binary cache (meta.json); "
        "write one with `rankwise data convert IN OUT --shards K` (or OUT.rwcache)"
    )


class ShardStream:
    """Batches of :class:`~rankwise.data.dataset.RankingBatch` streamed from a shard
    directory (module docstring); an iterable the
    :class:`~rankwise.train.trainer.Trainer` trains on like a loader.

    Args:
        directory: written by :func:`write_shards`, or a binary cache directory.
        batch_size: lists per batch (per process).
        shuffle: shuffle row groups and, within ``buffer_queries``, queries.
        buffer_queries: the shuffle buffer (memory: about this many lists).
        seed: with the epoch (:meth:`set_epoch`), fixes the order.
        rank, world: this process and the number of processes (default: the
            ``torch.distributed`` group, or 0 and 1).
        max_list_length: sample longer lists down (training), as the loaders do.
        transform: a fitted feature transform applied to each row group.
        group_batches: with ``shuffle``, batches are cut from random groups of
            ``batch_size * group_batches`` buffered queries sorted by length (less
            padding), in random order.
        cache_check: for a binary cache, ``"full"`` verifies every array's checksum
            when the stream opens (one pass over the data), ``"fast"`` does not.
    """

    def __init__(
        self,
        directory: PathLike,
        batch_size: int,
        *,
        shuffle: bool = True,
        buffer_queries: int = 4096,
        seed: int = 0,
        rank: int | None = None,
        world: int | None = None,
        max_list_length: int | None = None,
        transform: FeatureTransform | None = None,
        group_batches: int = 32,
        cache_check: CacheCheck = "full",
    ) -> None:
        import torch.distributed as dist

        grouped = dist.is_available() and dist.is_initialized()
        if batch_size < 1 or buffer_queries < 1:
            raise ValueError(
                f"batch_size and buffer_queries must be >= 1, got {batch_size}, {buffer_queries}"
            )
        self.directory = Path(directory)
        self.source = _source(self.directory, cache_check)
        self.num_features, self.groups = self.source.num_features, self.source.groups
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.buffer_queries = buffer_queries
        self.seed = seed
        self.world = world if world is not None else (dist.get_world_size() if grouped else 1)
        self.rank = rank if rank is not None else (dist.get_rank() if grouped else 0)
        if not 0 <= self.rank < self.world:
            raise ValueError(f"rank must be in [0, world), got rank {self.rank} of {self.world}")
        self.transform = transform
        self.group_batches = max(1, group_batches)
        self.epoch = 0
        self.dropped_queries = 0
        self.generator = torch.Generator().manual_seed(seed)
        self.collate = RankingCollator(
            max_list_length=max_list_length,
            generator=torch.Generator().manual_seed(seed * 7919 + self.rank),
        )

    @property
    def num_queries(self) -> int:
        """Queries in the directory."""
        return sum(g.queries for g in self.groups)

    def set_epoch(self, epoch: int) -> None:
        """Reseed for ``epoch`` (0-based)."""
        self.epoch = epoch

    def _plan(self) -> tuple[list[RowGroup], int]:
        """This process's row groups this epoch, and the number of batches it yields."""
        order = list(range(len(self.groups)))
        if self.shuffle:
            self.generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(order), generator=self.generator).tolist()
        shares = [[self.groups[i] for i in order[r :: self.world]] for r in range(self.world)]
        queries = [sum(g.queries for g in share) for share in shares]
        if self.world == 1:
            steps = -(-queries[0] // self.batch_size)
        else:  # the same number of steps on every process
            steps = min(q // self.batch_size for q in queries)
        self.dropped_queries = sum(queries) - (
            queries[0] if self.world == 1 else steps * self.batch_size * self.world
        )
        return shares[self.rank], steps

    def __len__(self) -> int:
        return self._plan()[1]

    def _read(self, groups: list[RowGroup], out: queue.Queue[Any], stop: threading.Event) -> None:
        def put(value: Any) -> None:
            while not stop.is_set():
                try:
                    out.put(value, timeout=0.1)
                    return
                except queue.Full:
                    continue

        try:
            for g in groups:
                if stop.is_set():
                    return
                items = self.source.read(g)
                if self.transform is not None:
                    items = self._transformed(items)
                put(items)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            put(None)

    def _transformed(self, items: list[QueryItem]) -> list[QueryItem]:
        assert self.transform is not None
        lengths = [i.labels.size for i in items]
        data = RankingData.from_documents(
            np.concatenate([i.features for i in items]),
            np.concatenate([i.labels for i in items]),
            np.repeat(np.arange(len(items)), lengths),
        )
        features = self.transform.transform(data).features
        cuts = np.cumsum([0, *lengths])
        return [
            QueryItem(features[cuts[k] : cuts[k + 1]], item.labels, item.qid, -1)
            for k, item in enumerate(items)
        ]

    def __iter__(self) -> Iterator[RankingBatch]:
        groups, steps = self._plan()
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        prefetched: queue.Queue[Any] = queue.Queue(maxsize=2)  # two row groups ahead
        stop = threading.Event()
        reader = threading.Thread(target=self._read, args=(groups, prefetched, stop), daemon=True)
        reader.start()
        try:
            yield from self._batches(prefetched, steps, rng)
        finally:  # also when the consumer stops early: the reader ends, nothing leaks
            stop.set()
            reader.join(timeout=5)

    def _batches(
        self, prefetched: queue.Queue[Any], steps: int, rng: np.random.Generator
    ) -> Iterator[RankingBatch]:
        buffer: list[QueryItem] = []
        done = 0
        finished = False
        group = self.batch_size * self.group_batches
        while done < steps:
            while not finished and len(buffer) < self.buffer_queries:
                got = prefetched.get()
                if got is None:
                    finished = True
                elif isinstance(got, BaseException):
                    raise got
                else:
                    buffer.extend(got)
            if not buffer:
                return
            if self.shuffle:
                # a random group of the buffer, sorted by length and cut into batches
                # (less padding, as the length-grouped sampler), batches in random order
                picked = rng.permutation(len(buffer))[:group]
                chosen = [buffer[i] for i in picked]
                keep = np.ones(len(buffer), dtype=bool)
                keep[picked] = False
                buffer = [item for item, k in zip(buffer, keep, strict=True) if k]
                chosen.sort(key=lambda item: -item.labels.size)
            else:
                chosen, buffer = buffer[:group], buffer[group:]
            batches = [
                chosen[i : i + self.batch_size] for i in range(0, len(chosen), self.batch_size)
            ]
            partial = batches.pop() if len(batches[-1]) < self.batch_size else None
            if partial is not None and not (finished and not buffer):
                buffer.extend(partial)  # a partial batch waits for more queries
                partial = None
            if self.shuffle:
                batches = [batches[i] for i in rng.permutation(len(batches))]
            if partial is not None and self.world == 1:
                batches.append(partial)  # the epoch's last, smaller batch (one process)
            for items in batches:
                if done == steps:
                    return
                yield self.collate(items)
                done += 1
