"""Parquet reading and writing, including files written by other tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rankwise.data import make_synthetic, read_parquet, write_parquet
from rankwise.errors import DataFormatError


@pytest.mark.parametrize("layout", ["columns", "list"])
def test_round_trip(tmp_path: Path, layout: str):
    data = make_synthetic(15, num_features=9, seed=2)
    write_parquet(data, tmp_path / "d.parquet", layout=layout)
    back = read_parquet(tmp_path / "d.parquet")
    np.testing.assert_array_equal(back.features, data.features)
    np.testing.assert_array_equal(back.labels, data.labels)
    np.testing.assert_array_equal(back.query_offsets, data.query_offsets)
    np.testing.assert_array_equal(back.qids, data.qids)
    np.testing.assert_array_equal(back.docids, data.docids)


def _table(**columns) -> pa.Table:
    return pa.table(columns)


def test_reads_foreign_files_with_numbered_columns_and_string_qids(tmp_path: Path):
    table = _table(
        query=["a", "a", "b"],
        rel=[1, 0, 2],
        feature_10=[1.0, 2.0, 3.0],
        feature_2=[4.0, 5.0, 6.0],
        feature_1=[7.0, 8.0, 9.0],
        other=["x", "y", "z"],
    )
    pq.write_table(table, tmp_path / "f.parquet")
    # Column K is feature K: 2 and 10 without 3..9 is a gap, not a renumbering.
    with pytest.raises(DataFormatError, match="no column feature_3, feature_4"):
        read_parquet(tmp_path / "f.parquet", qid_column="query", label_column="rel")
    table = table.drop(["feature_10"]).append_column("feature_3", pa.array([1.0, 2.0, 3.0]))
    pq.write_table(table, tmp_path / "f.parquet")
    data = read_parquet(tmp_path / "f.parquet", qid_column="query", label_column="rel")
    # Numbered columns are ordered by number, not by position in the file.
    np.testing.assert_array_equal(data.features, [[7, 4, 1], [8, 5, 2], [9, 6, 3]])
    assert data.qids.tolist() == ["a", "b"]
    assert data.docids is None


def test_explicit_feature_columns(tmp_path: Path):
    pq.write_table(_table(qid=[1, 1], label=[0, 1], u=[1.0, 2.0], v=[3.0, 4.0]), tmp_path / "e.pq")
    data = read_parquet(tmp_path / "e.pq", feature_columns=["v", "u"])
    np.testing.assert_array_equal(data.features, [[3, 1], [4, 2]])


def test_null_feature_values_follow_the_policy(tmp_path: Path):
    pq.write_table(_table(qid=[1, 1], label=[0, 1], f1=[1.0, None]), tmp_path / "n.parquet")
    with pytest.raises(DataFormatError, match="row 1, feature 1"):
        read_parquet(tmp_path / "n.parquet")
    data = read_parquet(tmp_path / "n.parquet", nonfinite="fill", fill_value=7.0)
    assert data.features[1, 0] == 7.0
    assert data.report.filled_values == {"null or non-finite": 1}


def test_missing_columns_and_bad_labels_are_named(tmp_path: Path):
    pq.write_table(_table(qid=[1], f1=[1.0]), tmp_path / "a.parquet")
    with pytest.raises(DataFormatError, match="no column 'label'"):
        read_parquet(tmp_path / "a.parquet")
    pq.write_table(_table(qid=[1], label=[1], x=[1.0]), tmp_path / "b.parquet")
    with pytest.raises(DataFormatError, match="no feature columns"):
        read_parquet(tmp_path / "b.parquet")
    pq.write_table(_table(qid=[1, 1], label=[1, -2], f1=[1.0, 1.0]), tmp_path / "c.parquet")
    with pytest.raises(DataFormatError, match="row 1: label -2"):
        read_parquet(tmp_path / "c.parquet")


def test_noncontiguous_rows(tmp_path: Path):
    pq.write_table(_table(qid=[1, 2, 1], label=[0, 1, 2], f1=[1.0, 2.0, 3.0]), tmp_path / "g.pq")
    with pytest.raises(DataFormatError, match="qid 1 already appeared at row 0"):
        read_parquet(tmp_path / "g.pq")
    data = read_parquet(tmp_path / "g.pq", noncontiguous="group")
    np.testing.assert_array_equal(data.features[:, 0], [1, 3, 2])
    assert data.report.regrouped_queries == 1


def test_ragged_list_column_is_an_error(tmp_path: Path):
    table = _table(qid=[1, 1], label=[0, 1], features=[[1.0, 2.0], [3.0]])
    pq.write_table(table, tmp_path / "r.parquet")
    with pytest.raises(DataFormatError, match="row 1 has 1 features"):
        read_parquet(tmp_path / "r.parquet")
