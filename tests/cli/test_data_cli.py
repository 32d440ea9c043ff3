"""`rankwise data stats`, `rankwise data convert` and `rankwise demo`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rankwise.cli.main import main
from rankwise.data import load, make_synthetic, write_svmlight


@pytest.fixture
def svm_file(tmp_path: Path) -> Path:
    path = tmp_path / "d.txt"
    write_svmlight(make_synthetic(12, num_features=10, seed=4), path)
    return path


def test_stats_json(svm_file: Path, capsys):
    assert main(["data", "stats", str(svm_file), "--json", "--no-cache"]) == 0
    stats = json.loads(capsys.readouterr().out)
    data = make_synthetic(12, num_features=10, seed=4)
    assert stats["queries"] == 12
    assert stats["documents"] == data.num_documents
    assert stats["features"] == 10
    assert sum(stats["label_histogram"].values()) == data.num_documents
    assert stats["lists_without_relevant"] == int((~data.has_relevant()).sum())
    constant = np.flatnonzero(data.features.max(0) == data.features.min(0)) + 1
    assert stats["constant_features"] == constant.tolist()


def test_stats_table_mentions_fill_counts(tmp_path: Path, capsys):
    path = tmp_path / "n.txt"
    path.write_bytes(b"1 qid:1 1:NULL 2:3\n0 qid:1 1:2 2:NULL\n")
    assert main(["data", "stats", str(path), "--nonfinite", "fill"]) == 0
    out = capsys.readouterr().out
    assert "2 NULL feature values filled with 0.0" in out
    assert "lists with no relevant item" in out


def test_bad_input_exits_1_with_the_line(tmp_path: Path, capsys):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"1 qid:1 1:1\n1 qid:1 1:NULL\n")
    assert main(["data", "stats", str(path), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "NULL" in err


@pytest.mark.parametrize("middle", ["mid.parquet", "mid.rwcache", "mid.txt.gz"])
def test_convert_round_trip(svm_file: Path, tmp_path: Path, middle: str):
    mid, out = tmp_path / middle, tmp_path / "back.txt"
    assert main(["data", "convert", str(svm_file), str(mid)]) == 0
    assert main(["data", "convert", str(mid), str(out)]) == 0
    a, b = load(svm_file), load(out)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.qids, b.qids)
    np.testing.assert_array_equal(a.docids, b.docids)


def test_convert_unknown_output_suffix(svm_file: Path, tmp_path: Path, capsys):
    assert main(["data", "convert", str(svm_file), str(tmp_path / "x.csv")]) == 1
    assert "cannot tell the output format" in capsys.readouterr().err
    assert main(["data", "convert", str(svm_file), str(tmp_path / "x.csv"), "--to", "parquet"]) == 0


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("rankwise")
    result = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=True, env=os.environ
    )
    assert result.stdout.startswith("rankwise ")
