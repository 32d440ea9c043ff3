"""SVMlight input that used to be read wrongly without a word (issue 13, §2 and §4):
old-Mac line endings, labels that overflow float32, allocation out of proportion to the
data, LightGBM's qid-less layout with a group file, damaged compressed files."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from rankwise.cli.main import main
from rankwise.data import make_synthetic, parse_svmlight, read_svmlight, write_svmlight
from rankwise.errors import DataFormatError, ParseError


def test_cr_only_line_endings_with_comments_are_four_documents(tmp_path: Path):
    text = b"2 qid:1 1:0.5 # a\r1 qid:1 1:0.1 #b\r0 qid:2 1:0.3\r1 qid:2 1:0.9 # docid = d\r"
    path = tmp_path / "mac.txt"
    path.write_bytes(text)
    data = read_svmlight(path)
    assert data.num_documents == 4 and data.num_queries == 2
    np.testing.assert_array_equal(data.labels, [2, 1, 0, 1])
    np.testing.assert_array_equal(data.features[:, 0], np.float32([0.5, 0.1, 0.3, 0.9]))
    assert parse_svmlight(text).num_documents == 4


def test_cr_only_file_without_a_final_line_break_and_a_lone_cr_elsewhere(tmp_path: Path):
    assert parse_svmlight(b"1 qid:1 1:1\r0 qid:1 1:2").num_documents == 2
    # in a file with \n line breaks a stray \r is whitespace, not a line break
    assert parse_svmlight(b"1 qid:1 1:1\r 2:3\n0 qid:1 1:2\n").num_documents == 2


@pytest.mark.parametrize("label", [b"1e40", b"-1e39", b"3.5e38"])
def test_a_label_that_overflows_float32_is_an_error(label: bytes):
    with pytest.raises(ParseError, match="does not fit float32") as err:
        parse_svmlight(b"1 qid:1 1:1\n" + label + b" qid:1 1:2\n", min_label=None)
    assert err.value.line == 2


def test_the_largest_float32_label_and_a_literal_inf_label():
    data = parse_svmlight(b"3.4e38 qid:1 1:1\n", min_label=None)
    assert data.labels[0] == np.float32(3.4e38)
    with pytest.raises(ParseError, match="label"):
        parse_svmlight(b"inf qid:1 1:1\n")


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_allocation_follows_the_data_not_the_largest_index(tmp_path: Path):
    path = tmp_path / "wide.txt"
    path.write_bytes(b"1 qid:1 1000000:1\n")
    assert path.stat().st_size == 18  # the 24-byte file had a longer label
    out: list = []
    peak = _peak_bytes(lambda: out.append(read_svmlight(path)))
    data = out[0]
    assert data.features.shape == (1, 1_000_000) and data.features[0, -1] == 1
    # one row of 1e6 float32 is 4 MB; reserving 1024 rows of that width would be 4 GB
    assert peak < 32 * 2**20, peak


def test_slack_rows_of_a_wide_layout_are_bounded(tmp_path: Path):
    # a few rows of width 200,000 (0.8 MB each): the rows reserved ahead of need are
    # bounded by 16 MiB (twice, while a resize copies), not 1024 rows (800 MB)
    path = tmp_path / "wide.txt"
    path.write_bytes(b"".join(b"1 qid:1 %d:1\n" % (200_000 - i) for i in range(3)))
    out: list = []
    peak = _peak_bytes(lambda: out.append(read_svmlight(path)))
    assert out[0].features.shape == (3, 200_000)
    assert peak < 4 * out[0].features.nbytes + 48 * 2**20, peak


# ------------------------------------------------------------------ LightGBM's layout
LINES = b"1 1:0.5 2:1\n0 1:0.1\n2 2:0.3\n0 1:0.9\n1 1:1\n"


@pytest.mark.parametrize("suffix", [".query", ".group"])
def test_group_file_next_to_the_data_is_found(tmp_path: Path, suffix: str):
    path = tmp_path / "train.txt"
    path.write_bytes(LINES)
    Path(str(path) + suffix).write_text("2\n3\n")
    data = read_svmlight(path)
    assert data.list_lengths().tolist() == [2, 3]
    np.testing.assert_array_equal(data.labels, [1, 0, 2, 0, 1])
    np.testing.assert_array_equal(data.features[2], np.float32([0, 0.3]))


def test_group_file_given_explicitly_and_in_memory_sizes(tmp_path: Path):
    path = tmp_path / "train.txt"
    path.write_bytes(LINES)
    (tmp_path / "sizes.txt").write_text("1\n4\n")
    assert read_svmlight(path, group_file=tmp_path / "sizes.txt").list_lengths().tolist() == [1, 4]
    assert parse_svmlight(LINES, group_sizes=[3, 2]).list_lengths().tolist() == [3, 2]


def test_group_sizes_that_do_not_add_up_name_both_counts(tmp_path: Path):
    path = tmp_path / "train.txt"
    path.write_bytes(LINES)
    Path(str(path) + ".query").write_text("2\n2\n")
    with pytest.raises(DataFormatError, match=r"add up to 4 documents, but .*train.txt holds 5"):
        read_svmlight(path)
    Path(str(path) + ".query").write_text("2\nthree\n")
    with pytest.raises(ParseError, match="positive integer") as err:
        read_svmlight(path)
    assert err.value.line == 2 and err.value.path.endswith(".query")


def test_lines_without_qid_and_no_group_file_suggest_one(tmp_path: Path):
    path = tmp_path / "train.txt"
    path.write_bytes(LINES)
    with pytest.raises(ParseError, match="missing 'qid") as err:
        read_svmlight(path)
    assert "group_file=..." in str(err.value)
    assert "--group-file PATH" in err.value.message("cli")


def test_a_changed_group_file_is_not_served_from_the_cache(tmp_path: Path):
    path = tmp_path / "train.txt"
    path.write_bytes(LINES)
    side = Path(str(path) + ".query")
    side.write_text("2\n3\n")
    assert read_svmlight(path, cache=tmp_path / "c").list_lengths().tolist() == [2, 3]
    side.write_text("4\n1\n")
    again = read_svmlight(path, cache=tmp_path / "c")
    assert not again.report.from_cache and again.list_lengths().tolist() == [4, 1]


def test_group_layout_is_written_and_read_back(tmp_path: Path):
    data = make_synthetic(6, num_features=8, seed=1)
    path = tmp_path / "out.txt"
    write_svmlight(data, path, group_file=True)
    assert b"qid:" not in path.read_bytes()
    sizes = [int(x) for x in Path(str(path) + ".query").read_text().split()]
    assert sizes == data.list_lengths().tolist()
    back = read_svmlight(path)
    np.testing.assert_array_equal(back.features, data.features)
    np.testing.assert_array_equal(back.query_offsets, data.query_offsets)


def test_group_layout_in_the_cli(tmp_path: Path, capsys):
    src = tmp_path / "train.txt"
    src.write_bytes(LINES)
    (tmp_path / "g").write_text("2\n3\n")
    out = tmp_path / "conv.txt"
    assert (
        main(
            [
                "data",
                "convert",
                str(src),
                str(out),
                "--group-file",
                str(tmp_path / "g"),
                "--group-file-out",
            ]
        )
        == 0
    )
    assert Path(str(out) + ".query").read_text().split() == ["2", "3"]
    assert main(["data", "stats", str(out), "--json"]) == 0
    assert '"queries": 2' in capsys.readouterr().out


# ------------------------------------------------------------------ damaged compression
OPENERS = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}


@pytest.mark.parametrize("ext", sorted(OPENERS))
@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_damaged_compressed_files_name_the_file(tmp_path: Path, ext: str, damage: str):
    text = b"".join(b"%d qid:%d 1:%d 2:0.5\n" % (i % 3, i // 10, i) for i in range(20000))
    blob = bytearray(OPENERS[ext](text))
    if damage == "truncated":
        blob = blob[: len(blob) // 2]
    else:
        for i in range(len(blob) // 3, len(blob) // 3 + 64):
            blob[i] ^= 0x5A
    path = tmp_path / f"bad.txt.{ext}"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataFormatError, match=r"bad\.txt\." + ext):
        read_svmlight(path)


def test_damaged_compressed_file_in_the_cli_is_one_line_without_traceback(tmp_path, capsys):
    path = tmp_path / "bad.txt.gz"
    path.write_bytes(gzip.compress(b"1 qid:1 1:1\n" * 5000)[:-20])
    assert main(["data", "stats", str(path), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert "bad.txt.gz" in err and "truncated or corrupt" in err and "Traceback" not in err


def test_group_layout_in_a_run_config(tmp_path: Path):
    from rankwise.train.build import build_data
    from rankwise.train.config import validate_config

    paths = {}
    for split, seed in (("train", 0), ("valid", 1), ("test", 2)):
        paths[split] = tmp_path / f"{split}.txt"
        write_svmlight(
            make_synthetic(5 + seed, num_features=8, seed=seed), paths[split], group_file=True
        )
    config = {
        "data": {k: str(v) for k, v in paths.items()},
        "model": {"name": "mlp"},
    }
    splits = build_data(validate_config(config)).splits
    assert [s.num_queries for s in (splits.train, splits.valid, splits.test)] == [5, 6, 7]
    config["data"]["read_options"] = {"group_file": str(tmp_path / "train.txt.query")}
    with pytest.raises(DataFormatError, match="one file of group sizes for several"):
        build_data(validate_config(config))
