"""The binary cache never serves damaged or stale data by default (issue 13, §2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from rankwise.data import load_cache, read_svmlight
from rankwise.errors import DataFormatError


def _write(path: Path, labels: list[int]) -> None:
    path.write_bytes(
        b"".join(b"%d qid:%d 1:0.5 2:%d\n" % (y, i // 4, i) for i, y in enumerate(labels))
    )


def _entry(cache: Path) -> Path:
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    return entry


def _poke(npy: Path, value: bytes) -> None:
    """Overwrite the last bytes of an array file's data (after its header)."""
    blob = bytearray(npy.read_bytes())
    blob[-len(value) :] = value
    npy.write_bytes(bytes(blob))


def test_a_byte_edit_inside_labels_npy_is_detected_and_rebuilt(tmp_path: Path):
    src = tmp_path / "d.txt"
    _write(src, [1, 0, 2, 1] * 25)
    cache = tmp_path / "cache"
    first = read_svmlight(src, cache=cache)
    labels = _entry(cache) / "labels.npy"
    _poke(labels, np.float32(-5).tobytes())  # a label the reader would have refused
    with pytest.raises(DataFormatError, match=r"labels\.npy.*checksum"):
        load_cache(_entry(cache))
    again = read_svmlight(src, cache=cache)
    assert not again.report.from_cache  # rebuilt from the source, not served
    np.testing.assert_array_equal(again.labels, first.labels)
    assert (again.labels >= 0).all()
    assert read_svmlight(src, cache=cache).report.from_cache  # the rebuilt entry is good


def test_a_non_finite_feature_written_into_the_cache_is_detected(tmp_path: Path):
    src = tmp_path / "d.txt"
    _write(src, [1, 0] * 10)
    cache = tmp_path / "cache"
    read_svmlight(src, cache=cache)
    _poke(_entry(cache) / "features.npy", np.float32(np.nan).tobytes())
    with pytest.raises(DataFormatError, match=r"features\.npy"):
        load_cache(_entry(cache))
    assert np.isfinite(read_svmlight(src, cache=cache).features).all()


def test_a_same_size_same_mtime_edit_in_the_middle_of_a_large_file_is_seen(tmp_path: Path):
    src = tmp_path / "big.txt"
    labels = [1, 0, 2, 0] * 40_000  # about 3.4 MB: beyond the first and last MiB
    _write(src, labels)
    assert src.stat().st_size > 3 * 2**20
    cache = tmp_path / "cache"
    assert read_svmlight(src, cache=cache).labels[len(labels) // 2] == 1
    stat = src.stat()
    blob = bytearray(src.read_bytes())
    middle = blob.index(b"\n1 qid:", len(blob) // 2) + 1
    blob[middle : middle + 1] = b"3"  # one label, same size
    src.write_bytes(bytes(blob))
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert src.stat().st_size == stat.st_size and src.stat().st_mtime_ns == stat.st_mtime_ns
    fresh = read_svmlight(src, cache=cache)
    assert not fresh.report.from_cache and (fresh.labels == 3).sum() == 1
    # the documented trade-off: check="fast" hashes only the first and last MiB, so the
    # same edit made again (back to 1) is not seen by the fast mode's own entry
    read_svmlight(src, cache=cache, cache_check="fast")
    blob[middle : middle + 1] = b"1"
    src.write_bytes(bytes(blob))
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    stale = read_svmlight(src, cache=cache, cache_check="fast")
    assert stale.report.from_cache and (stale.labels == 3).sum() == 1
    assert (read_svmlight(src, cache=cache).labels == 3).sum() == 0  # full check: right


def test_cache_check_must_be_a_known_mode(tmp_path: Path):
    src = tmp_path / "d.txt"
    _write(src, [1, 0])
    with pytest.raises(ValueError, match="check"):
        read_svmlight(src, cache=tmp_path / "c", cache_check="none")  # type: ignore[arg-type]


def test_entries_of_the_same_file_version_with_other_options_are_kept(tmp_path: Path):
    src = tmp_path / "d.txt"
    src.write_bytes(b"1 qid:1 1:nan 2:1\n0 qid:1 1:1 2:0\n")
    cache = tmp_path / "cache"
    for fill in (0.0, -1.0):
        read_svmlight(src, cache=cache, nonfinite="fill", fill_value=fill)
    read_svmlight(src, cache=cache, nonfinite="fill", cache_check="fast")
    for fill in (0.0, -1.0):
        again = read_svmlight(src, cache=cache, nonfinite="fill", fill_value=fill)
        assert again.report.from_cache and again.features[0, 0] == fill
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 3
