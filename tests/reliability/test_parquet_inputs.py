"""Parquet files that used to be read wrongly or with an unclear error (issue 13, §2-3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rankwise.cli.main import main
from rankwise.data import read_parquet
from rankwise.errors import DataFormatError


def _write(tmp_path: Path, name: str = "d.parquet", **columns) -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


BASE = {"qid": [1, 1, 2], "label": [1, 0, 2]}


def test_a_gap_in_numbered_feature_columns_is_an_error(tmp_path: Path):
    path = _write(tmp_path, **BASE, f1=[1.0, 2.0, 3.0], f3=[4.0, 5.0, 6.0])
    with pytest.raises(DataFormatError, match=r"without a gap.*no column f2") as err:
        read_parquet(path)
    assert "feature_columns=..." in str(err.value)
    # explicit columns say what is meant: two features, in that order
    data = read_parquet(path, feature_columns=["f1", "f3"])
    np.testing.assert_array_equal(data.features[:, 1], [4, 5, 6])


def test_numbering_from_zero_is_an_error(tmp_path: Path):
    path = _write(tmp_path, **BASE, f0=[1.0, 2.0, 3.0], f1=[4.0, 5.0, 6.0])
    with pytest.raises(DataFormatError, match="f0 is not allowed"):
        read_parquet(path)


def test_one_feature_in_two_columns_is_an_error(tmp_path: Path):
    path = _write(tmp_path, **BASE, f1=[1.0, 2.0, 3.0], feature_1=[4.0, 5.0, 6.0])
    with pytest.raises(DataFormatError, match="feature 1 is given by two columns"):
        read_parquet(path)


def test_mixed_naming_styles_are_an_error(tmp_path: Path):
    path = _write(tmp_path, **BASE, f1=[1.0, 2.0, 3.0], feature_2=[4.0, 5.0, 6.0])
    with pytest.raises(DataFormatError, match="mix naming styles"):
        read_parquet(path)


def test_a_null_docid_is_an_error_naming_the_row(tmp_path: Path):
    path = _write(tmp_path, **BASE, f1=[1.0, 2.0, 3.0], docid=["a", None, "c"])
    with pytest.raises(DataFormatError, match=r"column 'docid', row 1: the value is null"):
        read_parquet(path)


def test_a_timestamp_label_column_is_an_error(tmp_path: Path):
    stamps = [dt.datetime(2020, 1, d) for d in (1, 2, 3)]
    path = _write(tmp_path, qid=[1, 1, 2], label=stamps, f1=[1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match=r"column 'label' has type timestamp"):
        read_parquet(path)


def test_text_labels_and_features_name_file_column_and_row(tmp_path: Path):
    path = _write(tmp_path, **BASE, f1=[1.0, 2.0, 3.0], f2=["0.5", "1.5", "high"])
    with pytest.raises(DataFormatError, match=r"d\.parquet: column 'f2', row 2: 'high' is not"):
        read_parquet(path)
    path = _write(tmp_path, "l.parquet", qid=[1, 1], label=["1", "x"], f1=[1.0, 2.0])
    with pytest.raises(DataFormatError, match=r"l\.parquet: column 'label', row 1: 'x'"):
        read_parquet(path)


def test_a_zero_row_file_is_an_error_unless_allowed(tmp_path: Path):
    schema = pa.schema([("qid", pa.int64()), ("label", pa.float32()), ("f1", pa.float32())])
    path = tmp_path / "empty.parquet"
    pq.write_table(schema.empty_table(), path)
    with pytest.raises(DataFormatError, match="no row") as err:
        read_parquet(path)
    assert "allow_empty=True" in str(err.value)
    assert "--allow-empty" in err.value.message("cli")
    assert read_parquet(path, allow_empty=True).num_documents == 0


def test_null_labels_and_qids_name_the_row(tmp_path: Path):
    path = _write(tmp_path, qid=[1, None, 1], label=[1, 0, 2], f1=[1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match=r"column 'qid', row 1: the qid is null"):
        read_parquet(path)
    path = _write(tmp_path, "l.parquet", qid=[1, 1, 1], label=[1, 0, None], f1=[1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match=r"column 'label', row 2: the label is null"):
        read_parquet(path)


def test_not_a_parquet_file(tmp_path: Path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"1 qid:1 1:1\n")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        read_parquet(path)


def test_integer_and_boolean_features_and_float_qids_that_are_integers(tmp_path: Path):
    path = _write(
        tmp_path,
        qid=[3.0, 3.0, 4.0],
        label=[True, False, True],
        f1=[1, 2, 3],
        f2=[True, False, True],
    )
    data = read_parquet(path)
    np.testing.assert_array_equal(data.features, [[1, 1], [2, 0], [3, 1]])
    assert data.qids.tolist() == [3, 4]
    path = _write(tmp_path, "q.parquet", qid=[3.5, 3.5], label=[1, 0], f1=[1.0, 2.0])
    with pytest.raises(DataFormatError, match=r"qid 3\.5 is not an integer"):
        read_parquet(path)


def test_the_cli_names_the_flags(tmp_path: Path, capsys):
    path = _write(tmp_path, **BASE, f1=[1.0, None, 3.0])
    assert main(["data", "stats", str(path)]) == 1
    err = capsys.readouterr().err
    assert "--nonfinite fill" in err and "nonfinite='fill'" not in err
    assert main(["data", "stats", str(path), "--nonfinite", "fill", "--json"]) == 0
    path = _write(tmp_path, "g.parquet", **BASE, f1=[1.0, 2.0, 3.0], f3=[4.0, 5.0, 6.0])
    assert main(["data", "stats", str(path)]) == 1
    assert "--feature-columns COLUMNS" in capsys.readouterr().err
    assert main(["data", "stats", str(path), "--feature-columns", "f3,f1", "--json"]) == 0
    assert '"features": 2' in capsys.readouterr().out
