"""Parser fuzzing beyond SVMlight (issue 13, §3): Parquet files, TREC runs and qrels and
YAML configs either load or raise rankwise's own error, never hang, never raise a
foreign exception. (SVMlight's own fuzzing is in tests/data/test_svmlight.py.)"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise.data import read_parquet
from rankwise.errors import RankwiseError
from rankwise.runs import evaluate_run
from rankwise.runs.trec import read_qrels, read_trec_run
from rankwise.train.config import load_config

# a generous per-example deadline turns a hang into a failure
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


_ROOT = Path(tempfile.mkdtemp(prefix="rankwise-fuzz-"))
atexit.register(shutil.rmtree, _ROOT, True)


def _scratch(name: str) -> Path:
    """A path in this module's scratch folder (examples overwrite each other's files)."""
    return _ROOT / name


# ------------------------------------------------------------------ Parquet
_NAMES = [
    "qid",
    "label",
    "docid",
    "features",
    "f1",
    "f2",
    "f3",
    "f0",
    "feature_1",
    "feature2",
    "comment",
    "x",
]
_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def _column(draw, rows: int) -> pa.Array:
    kind = draw(st.sampled_from(["int", "float", "bool", "str", "null", "time", "list"]))
    maybe_null = draw(st.booleans())

    def values(strategy):
        items = draw(st.lists(strategy, min_size=rows, max_size=rows))
        if maybe_null and rows:
            items[draw(st.integers(0, rows - 1))] = None
        return items

    if kind == "int":
        return pa.array(values(st.integers(-(2**40), 2**40)), type=pa.int64())
    if kind == "float":
        return pa.array(values(_floats), type=pa.float64())
    if kind == "bool":
        return pa.array(values(st.booleans()), type=pa.bool_())
    if kind == "str":
        return pa.array(values(st.text(max_size=5)), type=pa.string())
    if kind == "time":
        return pa.array(
            values(st.datetimes(min_value=dt.datetime(2000, 1, 1))), type=pa.timestamp("us")
        )
    if kind == "list":
        width = draw(st.integers(0, 3))
        return pa.array(
            values(st.lists(_floats, min_size=width, max_size=width + draw(st.integers(0, 1))))
        )
    return pa.nulls(rows)


@st.composite
def parquet_tables(draw) -> pa.Table:
    rows = draw(st.integers(0, 6))
    names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=6, unique=True))
    return pa.table({n: draw(_column(rows)) for n in names})


@FUZZ
@given(parquet_tables(), st.booleans())
def test_parquet_reader_loads_or_raises_its_own_error(table: pa.Table, allow_empty: bool):
    path = _scratch("f.parquet")
    pq.write_table(table, path)
    try:
        data = read_parquet(path, allow_empty=allow_empty)
    except RankwiseError:
        return
    # what loads is well formed
    assert data.features.shape == (data.num_documents, data.num_features)
    assert np.isfinite(data.labels).all() and (data.labels >= 0).all()
    assert np.isfinite(data.features).all()


@FUZZ
@given(st.binary(max_size=400))
def test_parquet_reader_on_random_bytes(raw: bytes):
    path = _scratch("r.parquet")
    path.write_bytes(b"PAR1" + raw + b"PAR1" if raw[:1] == b"P" else raw)
    with contextlib.suppress(RankwiseError):
        read_parquet(path)


# ------------------------------------------------------------------ TREC
_word = st.sampled_from(
    [
        "1",
        "2",
        "q1",
        "Q0",
        "d1",
        "d2",
        "d3",
        "0",
        "-1",
        "3.5",
        "nan",
        "inf",
        "1e400",
        "x",
        "tag",
        "#",
        "\x1b",
        "é",
        "0x1",
    ]
)


@st.composite
def trec_lines(draw, columns: tuple[int, ...]) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        n = draw(st.sampled_from((*columns, draw(st.integers(0, 8)))))
        lines.append(" ".join(draw(_word) for _ in range(n)))
    sep = draw(st.sampled_from(["\n", "\r\n", "\n\n"]))
    return sep.join(lines).encode() + draw(st.sampled_from([b"", b"\n"]))


@FUZZ
@given(trec_lines((6,)), trec_lines((4,)))
def test_trec_readers_and_evaluation_load_or_raise_their_own_error(
    run_text: bytes, qrels_text: bytes
):
    run_path, qrels_path = _scratch("run.txt"), _scratch("qrels.txt")
    run_path.write_bytes(run_text)
    qrels_path.write_bytes(qrels_text)
    try:
        run = read_trec_run(run_path)
        qrels = read_qrels(qrels_path)
        evaluation = evaluate_run(run, qrels, ["ndcg@10", "map", "recall@5"])
    except RankwiseError:
        return
    for values in evaluation.per_query.values():
        assert np.isfinite(values).all()


@FUZZ
@given(st.binary(max_size=300))
def test_trec_readers_on_random_bytes(raw: bytes):
    path = _scratch("x.txt")
    path.write_bytes(raw)
    for reader in (read_trec_run, read_qrels):
        with contextlib.suppress(RankwiseError):
            reader(path)


# ------------------------------------------------------------------ YAML configs
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["mlp", "lightgbm", "softmax", "adam", "ndcg@10", "../x", "auto", "cuda:0"]),
)
_keys = st.sampled_from(
    [
        "name",
        "seed",
        "device",
        "output_dir",
        "data",
        "model",
        "loss",
        "optimizer",
        "scheduler",
        "training",
        "metrics",
        "params",
        "synthetic",
        "num_queries",
        "num_features",
        "epochs",
        "train",
        "lr",
        "hidden",
        "early_stopping",
        "batch_size",
        "transform",
        "letor",
        "zzz",
    ]
)
_tree = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _base() -> dict:
    return {
        "output_dir": str(_scratch("runs")),
        "data": {"synthetic": {"num_queries": 10, "num_features": 8}},
        "model": {"name": "mlp"},
    }


@FUZZ
@given(st.dictionaries(_keys, _tree, max_size=5), st.booleans())
def test_config_loader_validates_or_raises_config_error(extra: dict, merge: bool):
    raw = {**_base(), **extra} if merge else extra
    path = _scratch("c.yaml")
    path.write_text(yaml.safe_dump(raw))
    try:
        config = load_config(path)
    except RankwiseError:
        return
    assert config.run_dir.parent == Path(config.output_dir)  # the name is one component


@FUZZ
@given(st.binary(max_size=300))
def test_config_loader_on_random_bytes(raw: bytes):
    path = _scratch("c.yaml")
    path.write_bytes(raw)
    with contextlib.suppress(RankwiseError):
        load_config(path)


@FUZZ
@given(st.lists(st.text(max_size=20), max_size=4))
def test_set_overrides_validate_or_raise_config_error(overrides: list[str]):
    path = _scratch("c.yaml")
    path.write_text(yaml.safe_dump(_base()))
    with contextlib.suppress(RankwiseError):
        load_config(path, overrides)
