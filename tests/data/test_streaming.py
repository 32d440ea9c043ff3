"""Query-aligned Parquet shards, binary caches, and the stream that trains from them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from rankwise.data import make_synthetic, save_cache, streaming
from rankwise.data.dataset import RankingCollator, RankingDataset
from rankwise.data.parquet import read_parquet
from rankwise.data.streaming import ShardStream, read_manifest, read_sample, write_shards
from rankwise.data.transforms import Standardize
from rankwise.errors import DataFormatError
from rankwise.losses import SoftmaxLoss
from rankwise.models import MLPScorer
from rankwise.train.tasks import ListRankingTask
from rankwise.train.trainer import Trainer


@pytest.fixture(scope="module")
def data():
    return make_synthetic(53, 12, seed=4, mean_list_length=15)


@pytest.fixture
def shards(tmp_path, data):
    write_shards(data, tmp_path / "shards", shards=3, queries_per_group=5)
    return tmp_path / "shards"


def _by_qid(data):
    return {str(data.qids[q]): data.query(q) for q in range(data.num_queries)}


def test_row_groups_hold_whole_queries_and_the_manifest_counts_them(shards, data):
    width, groups = read_manifest(shards)
    assert width == 12 and sum(g.queries for g in groups) == 53
    assert sum(g.documents for g in groups) == data.num_documents
    seen = set()
    for path in sorted(shards.glob("part-*.parquet")):
        file = pq.ParquetFile(path)
        for i in range(file.num_row_groups):
            qids = file.read_row_group(i).column("qid").to_pylist()
            assert not (set(qids) & seen)  # a query never continues in another group
            seen |= set(qids)
        read_parquet(path)  # every shard is a valid rankwise Parquet file


def test_an_epoch_yields_every_query_once_with_its_rows(shards, data):
    stream = ShardStream(shards, 4, buffer_queries=7, seed=1)
    expected = _by_qid(data)
    got = {}
    batches = list(stream)
    assert len(batches) == len(stream) == 14  # ceil(53 / 4)
    for batch in batches:
        for b, qid in enumerate(batch.qids.tolist()):
            n = int(batch.mask[b].sum())
            got[str(qid)] = (batch.features[b, :n].numpy(), batch.labels[b, :n].numpy())
    assert got.keys() == expected.keys()
    for qid, (features, labels) in got.items():
        np.testing.assert_array_equal(features, expected[qid][0])
        np.testing.assert_array_equal(labels, expected[qid][1])
    assert stream.dropped_queries == 0


def test_the_epoch_seeds_the_order(shards):
    stream = ShardStream(shards, 4, seed=1)
    order = lambda: [q for b in stream for q in b.qids.tolist()]  # noqa: E731
    first = order()
    stream.set_epoch(1)
    second = order()
    stream.set_epoch(0)
    assert order() == first != second


def test_processes_read_disjoint_row_groups_in_equal_steps(shards):
    streams = [ShardStream(shards, 3, rank=r, world=2, seed=2) for r in range(2)]
    parts = [[q for b in s for q in b.qids.tolist()] for s in streams]
    assert not set(parts[0]) & set(parts[1])
    assert len(streams[0]) == len(streams[1])
    assert all(len(p) == 3 * len(streams[0]) for p in parts)  # full batches only
    assert streams[0].dropped_queries == 53 - len(parts[0]) - len(parts[1])


def test_training_on_the_stream_is_training_on_the_same_batches_in_memory(shards, data):
    stream = ShardStream(shards, 4, shuffle=False)
    qids = [q for b in stream for q in b.qids.tolist()]
    position = {str(data.qids[q]): q for q in range(data.num_queries)}
    dataset, collate = RankingDataset(data), RankingCollator()
    in_memory = [
        collate([dataset[position[str(q)]] for q in qids[i : i + 4]])
        for i in range(0, len(qids), 4)
    ]

    def train(batches):
        torch.manual_seed(0)
        model = MLPScorer(12, hidden=[8])
        task = ListRankingTask(SoftmaxLoss())
        Trainer(model, task, torch.optim.SGD(model.parameters(), lr=0.1), batches, epochs=2).fit()
        return model.state_dict()

    streamed, memory = train(stream), train(in_memory)
    for key in memory:
        torch.testing.assert_close(streamed[key], memory[key], rtol=0, atol=0)


def test_a_fitted_transform_is_applied_per_row_group(shards, data):
    transform = Standardize().fit(data)
    expected = _by_qid(transform.transform(data))
    for batch in ShardStream(shards, 5, transform=transform):
        for b, qid in enumerate(batch.qids.tolist()):
            n = int(batch.mask[b].sum())
            np.testing.assert_allclose(batch.features[b, :n].numpy(), expected[str(qid)][0])


def test_a_directory_without_a_manifest_is_named(tmp_path):
    with pytest.raises(DataFormatError, match=r"neither a shard directory.*--shards"):
        ShardStream(tmp_path, 4)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataFormatError, match="expected 'rankwise-shards/1'"):
        read_manifest(tmp_path)


def test_data_convert_writes_shards(tmp_path, data):
    from rankwise.data.parquet import write_parquet

    source = tmp_path / "in.parquet"
    write_parquet(data, source)
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "rankwise"),
            "data",
            "convert",
            str(source),
            str(out),
            "--shards",
            "2",
            "--queries-per-group",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    _, groups = read_manifest(out)
    assert {g.file for g in groups} == {"part-00000.parquet", "part-00001.parquet"}
    assert [g.queries for g in groups if g.file == "part-00000.parquet"] == [10, 10, 10]


def test_rankwise_train_streams_a_shard_directory(tmp_path):
    """A config whose ``data.train`` is a shard directory trains from the stream (the
    transform fitted on its first queries), validates and tests on files."""
    import yaml
    from rich.console import Console

    from rankwise.data.parquet import write_parquet
    from rankwise.metrics.evaluation import evaluate_scores
    from rankwise.train.config import load_config
    from rankwise.train.experiment import run_experiment

    data = make_synthetic(160, 10, seed=7, mean_list_length=12)
    train, valid, test = (
        data.select_queries(range(0, 100)),
        data.select_queries(range(100, 130)),
        data.select_queries(range(130, 160)),
    )
    write_shards(train, tmp_path / "train-shards", shards=2, queries_per_group=16)
    write_parquet(valid, tmp_path / "valid.parquet")
    write_parquet(test, tmp_path / "test.parquet")
    config = {
        "name": "streamed",
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "train": str(tmp_path / "train-shards"),
            "valid": str(tmp_path / "valid.parquet"),
            "test": str(tmp_path / "test.parquet"),
            "transform": [{"name": "standardize"}],
            "batch_size": 8,
            "stream_buffer": 40,
        },
        "model": {"name": "mlp", "params": {"hidden": [16]}},
        "loss": {"name": "softmax"},
        "optimizer": {"name": "adam", "params": {"lr": 0.01}},
        "training": {"epochs": 4, "progress": False, "early_stopping": None},
        "metrics": ["ndcg@10"],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    summary = run_experiment(load_config(path), console=Console(quiet=True))
    rows = [
        json.loads(line)
        for line in (tmp_path / "runs" / "streamed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    # every training query was seen each epoch (lists/s x seconds = lists trained on)
    assert all(round(r["lists_per_s"] * r["seconds"]) == 100 for r in rows)
    assert (
        summary.test["ndcg@10"]
        > evaluate_scores(test, np.zeros(test.num_documents), ["ndcg@10"]).means()["ndcg@10"]
    )


# ------------------------------------------------------------------ a binary cache, streamed
@pytest.fixture
def cache(tmp_path, data, monkeypatch):
    monkeypatch.setattr(streaming, "CACHE_BLOCK_QUERIES", 5)  # 11 blocks of 53 queries
    return save_cache(data, tmp_path / "data.rwcache")


def _epoch(stream) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    got = {}
    for batch in stream:
        for b, qid in enumerate(batch.qids.tolist()):
            n = int(batch.mask[b].sum())
            assert str(qid) not in got  # each query once
            got[str(qid)] = (batch.features[b, :n].numpy(), batch.labels[b, :n].numpy())
    return got


def test_a_binary_cache_streams_every_query_once_with_its_rows(cache, data):
    stream = ShardStream(cache, 4, buffer_queries=7, seed=1)
    assert len(stream.groups) == 11 and stream.num_queries == 53
    expected = _by_qid(data)
    for epoch in range(2):
        stream.set_epoch(epoch)
        got = _epoch(stream)
        assert got.keys() == expected.keys()
        for qid, (features, labels) in got.items():
            np.testing.assert_array_equal(features, expected[qid][0])
            np.testing.assert_array_equal(labels, expected[qid][1])
    sample = read_sample(cache, 12)
    assert sample.num_queries == 15  # whole blocks: 3 of 5
    np.testing.assert_array_equal(sample.features, data.select_queries(range(15)).features)


def test_processes_stream_disjoint_blocks_of_a_cache(cache):
    streams = [ShardStream(cache, 3, rank=r, world=2, seed=2) for r in range(2)]
    parts = [list(_epoch(s)) for s in streams]
    assert not set(parts[0]) & set(parts[1])
    assert len(streams[0]) == len(streams[1])
    assert streams[0].dropped_queries == 53 - len(parts[0]) - len(parts[1])


def test_a_damaged_cache_is_named_when_the_stream_opens(cache):
    features = cache / "features.npy"
    raw = bytearray(features.read_bytes())
    raw[-3] ^= 0xFF
    features.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=r"features\.npy: the cached array does not match"):
        ShardStream(cache, 4)
    ShardStream(cache, 4, cache_check="fast")  # the fast check reads no data


def test_rankwise_train_streams_a_cache_with_data_stream(tmp_path):
    import yaml
    from rich.console import Console

    from rankwise.errors import ConfigError
    from rankwise.train.build import build_data, build_loaders
    from rankwise.train.config import load_config
    from rankwise.train.experiment import run_experiment

    data = make_synthetic(90, 10, seed=8, mean_list_length=12)
    save_cache(data.select_queries(range(60)), tmp_path / "train.rwcache")
    save_cache(data.select_queries(range(60, 90)), tmp_path / "valid.rwcache")
    config = {
        "name": "cache-streamed",
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "train": str(tmp_path / "train.rwcache"),
            "valid": str(tmp_path / "valid.rwcache"),
            "batch_size": 8,
            "stream": True,
        },
        "model": {"name": "mlp", "params": {"hidden": [8]}},
        "loss": {"name": "softmax"},
        "training": {"epochs": 2, "progress": False, "early_stopping": None},
        "metrics": ["ndcg@10"],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    loaded = load_config(path)
    splits = build_data(loaded).splits
    train_loader = build_loaders(loaded, splits.train, splits.valid, torch.Generator())[0]
    assert isinstance(train_loader, ShardStream)
    run_experiment(loaded, console=Console(quiet=True))
    rows = (tmp_path / "runs" / "cache-streamed" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2]
    # streaming something that is neither a cache nor shards is a config error
    config["data"]["train"] = str(tmp_path / "nothing")
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"data\.stream: .* neither a shard directory"):
        build_data(load_config(path))
