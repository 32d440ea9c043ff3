"""The binary cache: exact round trip, memory mapping, invalidation, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rankwise.data import load_cache, make_synthetic, read_svmlight, save_cache, write_svmlight
from rankwise.errors import DataFormatError


@pytest.fixture
def svm_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.txt"
    write_svmlight(make_synthetic(30, num_features=12, seed=1), path)
    return path


def _assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.query_offsets, b.query_offsets)
    np.testing.assert_array_equal(a.qids, b.qids)
    np.testing.assert_array_equal(a.docids, b.docids)


def test_save_and_load_round_trip_memory_mapped(tmp_path: Path):
    data = make_synthetic(20, num_features=10, seed=3)
    save_cache(data, tmp_path / "d.rwcache")
    back = load_cache(tmp_path / "d.rwcache")
    _assert_same(data, back)
    assert isinstance(back.features, np.memmap)
    assert not back.features.flags.writeable
    assert back.report.from_cache
    eager = load_cache(tmp_path / "d.rwcache", mmap=False)
    assert not isinstance(eager.features, np.memmap)


def test_cache_files_hold_no_pickles(tmp_path: Path):
    save_cache(make_synthetic(5, num_features=8), tmp_path / "c")
    for f in (tmp_path / "c").glob("*.npy"):
        np.load(f, allow_pickle=False)  # would raise on object arrays


def test_second_load_comes_from_the_cache(svm_file: Path, tmp_path: Path):
    cache_dir = tmp_path / "cache"
    first = read_svmlight(svm_file, cache=cache_dir)
    assert not first.report.from_cache
    second = read_svmlight(svm_file, cache=cache_dir)
    assert second.report.from_cache
    _assert_same(first, second)
    assert len(list(cache_dir.iterdir())) == 1


def test_default_cache_dir_comes_from_the_environment(svm_file: Path):
    read_svmlight(svm_file, cache=True)
    root = Path(os.environ["RANKWISE_CACHE_DIR"])
    assert any(p.name.startswith("train.txt.") for p in root.iterdir())
    assert read_svmlight(svm_file, cache=True).report.from_cache


def test_changed_file_invalidates_and_replaces_the_entry(svm_file: Path, tmp_path: Path):
    cache_dir = tmp_path / "cache"
    read_svmlight(svm_file, cache=cache_dir)
    svm_file.write_bytes(b"3 qid:1 1:5\n")
    changed = read_svmlight(svm_file, cache=cache_dir)
    assert not changed.report.from_cache
    assert changed.num_documents == 1
    assert len(list(cache_dir.iterdir())) == 1  # the stale entry was pruned


def test_same_size_and_mtime_but_other_content_is_detected(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"1 qid:1 1:1\n")
    cache_dir = tmp_path / "cache"
    read_svmlight(path, cache=cache_dir)
    stat = path.stat()
    path.write_bytes(b"2 qid:1 1:1\n")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
    assert read_svmlight(path, cache=cache_dir).labels[0] == 2


def test_reader_options_are_part_of_the_key(tmp_path: Path):
    path = tmp_path / "n.txt"
    path.write_bytes(b"1 qid:1 1:NULL 2:1\n")
    cache_dir = tmp_path / "cache"
    a = read_svmlight(path, cache=cache_dir, nonfinite="fill", fill_value=0.0)
    b = read_svmlight(path, cache=cache_dir, nonfinite="fill", fill_value=-9.0)
    assert (a.features[0, 0], b.features[0, 0]) == (0.0, -9.0)
    assert read_svmlight(path, cache=cache_dir, nonfinite="fill").report.filled_values == {
        "NULL": 1
    }


def test_damaged_entry_is_rebuilt(svm_file: Path, tmp_path: Path):
    cache_dir = tmp_path / "cache"
    read_svmlight(svm_file, cache=cache_dir)
    entry = next(cache_dir.iterdir())
    (entry / "features.npy").write_bytes(b"garbage")
    again = read_svmlight(svm_file, cache=cache_dir)
    assert not again.report.from_cache
    assert read_svmlight(svm_file, cache=cache_dir).report.from_cache


def test_load_cache_rejects_non_cache_and_other_formats(tmp_path: Path):
    with pytest.raises(DataFormatError, match="not a rankwise cache"):
        load_cache(tmp_path)
    save_cache(make_synthetic(3, num_features=8), tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    meta["format"] = 999
    (tmp_path / "c" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataFormatError, match="format 999"):
        load_cache(tmp_path / "c")


def test_overwriting_an_entry_leaves_no_temporary_directories(tmp_path: Path):
    data = make_synthetic(3, num_features=8)
    save_cache(data, tmp_path / "c")
    save_cache(data, tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
