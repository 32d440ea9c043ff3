"""SVMlight/LETOR reading and writing: behaviour, errors, and fast-vs-reference equality."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise.data import RankingData, parse_svmlight, read_svmlight, write_svmlight
from rankwise.data.svmlight import _tokenize_fast, _tokenize_reference
from rankwise.errors import DataFormatError, ParseError

SAMPLE = b"""2 qid:10 1:0.5 3:1.25 # docid = d1 extra = x
0 qid:10 2:-3 # docid = d2
1 qid:11 1:1e-3 2:4 3:5
"""


def test_parses_labels_qids_features_and_docids():
    data = parse_svmlight(SAMPLE)
    assert data.num_queries == 2
    assert data.num_documents == 3
    assert data.num_features == 3
    np.testing.assert_array_equal(data.qids, [10, 11])
    np.testing.assert_array_equal(data.query_offsets, [0, 2, 3])
    np.testing.assert_array_equal(data.labels, [2, 0, 1])
    expected = np.array([[0.5, 0, 1.25], [0, -3, 0], [1e-3, 4, 5]], dtype=np.float32)
    np.testing.assert_array_equal(data.features, expected)
    assert data.features.dtype == np.float32
    assert data.docids.tolist() == ["d1", "d2", ""]
    assert data.comments.tolist() == ["docid = d1 extra = x", "docid = d2", ""]


def test_num_features_given_pads_absent_features_with_zero():
    data = parse_svmlight(SAMPLE, num_features=6)
    assert data.features.shape == (3, 6)
    assert (data.features[:, 3:] == 0).all()


def test_blank_and_comment_only_lines_are_skipped_and_counted():
    text = b"# header comment\n\n1 qid:1 1:1\n   \n0 qid:1 1:2\n"
    data = parse_svmlight(text)
    assert data.num_documents == 2
    assert data.report.skipped_lines == 3
    assert data.report.lines == 5


def test_crlf_line_endings_and_missing_final_newline():
    data = parse_svmlight(b"1 qid:1 1:1\r\n0 qid:1 1:2\r\n3 qid:2 2:7")
    np.testing.assert_array_equal(data.features, [[1, 0], [2, 0], [0, 7]])
    np.testing.assert_array_equal(data.labels, [1, 0, 3])


def test_tabs_and_repeated_spaces_separate_tokens():
    data = parse_svmlight(b"1\tqid:1   1:1\t2:2\n")
    np.testing.assert_array_equal(data.features, [[1, 2]])


def test_list_of_length_one_is_kept():
    data = parse_svmlight(b"1 qid:1 1:1\n0 qid:2 1:1\n0 qid:2 1:3\n")
    np.testing.assert_array_equal(data.list_lengths(), [1, 2])


def test_unsorted_feature_indices_are_accepted():
    data = parse_svmlight(b"1 qid:1 3:3 1:1 2:2\n")
    np.testing.assert_array_equal(data.features, [[1, 2, 3]])


@pytest.mark.parametrize("opener", [gzip.open, lzma.open, bz2.open], ids=["gzip", "xz", "bz2"])
def test_compressed_files_are_detected_by_content(tmp_path: Path, opener):
    path = tmp_path / "data.bin"  # no telling suffix: detection is by magic bytes
    with opener(path, "wb") as f:
        f.write(SAMPLE)
    data = read_svmlight(path)
    np.testing.assert_array_equal(data.features, parse_svmlight(SAMPLE).features)


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz", ".txt.xz", ".txt.bz2"])
@pytest.mark.parametrize("sparse", [False, True])
def test_write_then_read_round_trips_exactly(tmp_path: Path, suffix: str, sparse: bool):
    rng = np.random.default_rng(0)
    n, width = 40, 7
    features = rng.normal(size=(n, width)).astype(np.float32)
    features[rng.random((n, width)) < 0.3] = 0.0
    features[0, 0] = np.float32(1e-30)
    features[1, 1] = np.float32(3.4e38)
    features[2, 2] = np.float32(1 / 3)
    data = RankingData(
        features=features,
        labels=rng.integers(0, 5, n).astype(np.float32),
        query_offsets=np.array([0, 5, 6, 30, 40]),
        qids=np.array([3, 1, 99, 7]),
        docids=np.array([f"doc{i}" for i in range(n)]),
    )
    path = tmp_path / f"out{suffix}"
    write_svmlight(data, path, sparse=sparse)
    back = read_svmlight(path, num_features=width)
    np.testing.assert_array_equal(back.features, data.features)
    np.testing.assert_array_equal(back.labels, data.labels)
    np.testing.assert_array_equal(back.query_offsets, data.query_offsets)
    np.testing.assert_array_equal(back.qids, data.qids)
    np.testing.assert_array_equal(back.docids, data.docids)


def test_comments_round_trip(tmp_path: Path):
    data = parse_svmlight(SAMPLE)
    write_svmlight(data, tmp_path / "c.txt")
    back = read_svmlight(tmp_path / "c.txt")
    np.testing.assert_array_equal(back.comments, data.comments)
    np.testing.assert_array_equal(back.docids, data.docids)


def test_writer_rejects_non_integer_qids(tmp_path: Path):
    data = RankingData(
        features=np.zeros((1, 1), np.float32),
        labels=np.zeros(1, np.float32),
        query_offsets=np.array([0, 1]),
        qids=np.array(["q-a"]),
    )
    with pytest.raises(DataFormatError, match="integer qids"):
        write_svmlight(data, tmp_path / "x.txt")


# ------------------------------------------------------------------------- bad input
def _error(text: bytes, **options) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_svmlight(text, source="bad.txt", **options)
    return info.value


def test_non_numeric_value_names_file_line_and_text():
    err = _error(b"1 qid:1 1:0.5\n0 qid:1 1:abc 2:3\n")
    assert err.path == "bad.txt"
    assert err.line == 2
    assert "'abc'" in err.reason
    assert err.text == "0 qid:1 1:abc 2:3"
    assert "bad.txt, line 2" in str(err)


def test_malformed_token_without_colon():
    err = _error(b"1 qid:1 1:0.5 7\n")
    assert err.line == 1
    assert "'7'" in err.reason and "<index>:<value>" in err.reason


def test_non_numeric_label():
    err = _error(b"1 qid:1 1:1\nx qid:1 1:1\n")
    assert (err.line, "label 'x'") == (2, err.reason[:9])


def test_line_without_qid():
    err = _error(b"1 qid:1 1:1\n1 1:1 2:2\n")
    assert err.line == 2
    assert "qid" in err.reason


def test_non_integer_qid():
    err = _error(b"1 qid:a7 1:1\n")
    assert "qid 'a7'" in err.reason


def test_negative_label_is_rejected_by_default_range():
    err = _error(b"1 qid:1 1:1\n-1 qid:1 1:1\n")
    assert err.line == 2
    assert "outside the allowed range" in err.reason


def test_label_range_is_configurable():
    err = _error(b"5 qid:1 1:1\n", max_label=4)
    assert "label 5 outside the allowed range [0, 4]" in err.reason
    data = parse_svmlight(b"-1 qid:1 1:1\n", min_label=None)
    assert data.labels[0] == -1


def test_feature_index_zero_is_an_error():
    err = _error(b"1 qid:1 0:1\n")
    assert "1-based" in err.reason


def test_feature_index_beyond_num_features():
    err = _error(b"1 qid:1 1:1\n1 qid:1 5:1\n", num_features=4)
    assert err.line == 2
    assert "> the 4 features declared" in err.reason


def test_duplicate_feature_index_on_a_line():
    err = _error(b"1 qid:1 1:1 2:2\n1 qid:1 2:1 1:4 2:3\n")
    assert err.line == 2
    assert "feature index 2 appears twice" in err.reason


@pytest.mark.parametrize(
    ("token", "kind"),
    [(b"nan", "NaN"), (b"inf", "infinite"), (b"-Infinity", "infinite"), (b"NULL", "NULL")],
)
def test_nonfinite_values_error_by_default_and_fill_when_asked(token: bytes, kind: str):
    text = b"1 qid:1 1:1 2:2\n0 qid:1 1:3 2:" + token + b"\n"
    err = _error(text)
    assert err.line == 2
    assert "feature 2" in err.reason
    data = parse_svmlight(text, nonfinite="fill", fill_value=-1.0)
    assert data.features[1, 1] == -1.0
    assert data.report.filled_values == {kind: 1}
    assert data.report.fill_value == -1.0


def test_float32_overflow_is_treated_as_nonfinite():
    err = _error(b"1 qid:1 1:1e39\n")
    assert "overflows float32" in err.reason
    data = parse_svmlight(b"1 qid:1 1:1e39\n", nonfinite="fill")
    assert data.report.filled_values == {"float32-overflowing": 1}


def test_null_label_is_a_syntax_error_even_with_fill():
    err = _error(b"NULL qid:1 1:1\n", nonfinite="fill")
    assert "label 'NULL'" in err.reason


def test_noncontiguous_query_errors_or_regroups():
    text = b"1 qid:1 1:1\n0 qid:2 1:2\n2 qid:1 1:3\n0 qid:3 1:4\n1 qid:2 1:5\n"
    err = _error(text)
    assert err.line == 3
    assert "qid 1 already appeared on line 1" in err.reason
    data = parse_svmlight(text, noncontiguous="group")
    np.testing.assert_array_equal(data.qids, [1, 2, 3])
    np.testing.assert_array_equal(data.features[:, 0], [1, 3, 2, 5, 4])
    np.testing.assert_array_equal(data.labels, [1, 2, 0, 1, 0])
    assert data.report.regrouped_queries == 2


def test_empty_file_is_an_error_unless_allowed(tmp_path: Path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError, match="no document"):
        read_svmlight(path)
    data = read_svmlight(path, allow_empty=True, num_features=3)
    assert (data.num_queries, data.num_documents, data.num_features) == (0, 0, 3)
    path.write_bytes(b"# only a comment\n\n")
    with pytest.raises(DataFormatError, match="2 blank or comment-only"):
        read_svmlight(path)


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no such data file"):
        read_svmlight(tmp_path / "nope.txt")


def test_first_error_in_file_order_wins():
    # A semantic error (index 0) on line 1 comes before a syntax error on line 2.
    err = _error(b"1 qid:1 0:1\n1 qid:1 1:x\n")
    assert err.line == 1


@pytest.mark.parametrize("chunk_size", [7, 64, 1 << 20])
def test_line_numbers_are_exact_across_block_boundaries(chunk_size: int):
    good = b"".join(b"%d qid:%d 1:%d 2:0.5\n" % (i % 3, i // 4, i) for i in range(200))
    with pytest.raises(ParseError) as info:
        parse_svmlight(good + b"1 qid:999 1:oops\n", chunk_size=chunk_size)
    assert info.value.line == 201
    data = parse_svmlight(good, chunk_size=chunk_size)
    assert data.num_documents == 200
    np.testing.assert_array_equal(data.features[:, 0], np.arange(200))


def test_a_line_longer_than_a_block_is_kept_whole():
    line = b"1 qid:1 " + b" ".join(b"%d:%d" % (j, j) for j in range(1, 500)) + b"\n"
    data = parse_svmlight(line * 3, chunk_size=256)
    assert data.features.shape == (3, 499)
    np.testing.assert_array_equal(data.features[2], np.arange(1, 500))


def test_control_characters_go_through_the_reference_parser():
    err = _error(b"1 qid:1 1:1\x00\n")
    assert err.line == 1


# ------------------------------------------------------- fast path == reference parser
def _same_block(fast, ref) -> None:
    for name in ("labels", "qids", "line_numbers", "line_offsets", "value_doc", "value_index"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
    np.testing.assert_array_equal(fast.values, ref.values)  # NaN == NaN here
    np.testing.assert_array_equal(fast.value_null, ref.value_null)
    assert fast.comments == ref.comments
    assert (fast.lines, fast.skipped_lines) == (ref.lines, ref.skipped_lines)


_number = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "Infinity", "1e5", ".5", "5.", "+2", "1E-3", "-0"]),
)
_token_noise = st.sampled_from(
    ["", ":", "::", "qid", "x", "1x", "0x1", "1_0", "#", " ", "\t", "NULL", "1.5.2", "e5", "+"]
)


@st.composite
def near_valid_lines(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        label = draw(st.one_of(st.integers(0, 4).map(str), _number, _token_noise))
        qid = draw(st.one_of(st.integers(0, 5).map(str), _token_noise))
        parts = [label, draw(st.sampled_from(["qid:", "qid", "QID:", "qid:"])) + qid]
        for _ in range(draw(st.integers(0, 4))):
            index = draw(st.one_of(st.integers(0, 6).map(str), _token_noise))
            value = draw(st.one_of(_number, _token_noise, st.just("NULL")))
            sep = draw(st.sampled_from([":", ":", ":", " ", "::"]))
            parts.append(index + sep + value)
        if draw(st.booleans()):
            parts.append("#" + draw(st.sampled_from([" docid = a", "docid=b:1", "", " x # y"])))
        joiner = draw(st.sampled_from([" ", " ", "\t", "  "]))
        lines.append(joiner.join(parts))
    return "\n".join(lines).encode() + b"\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_lines())
def test_fast_tokenizer_agrees_with_reference_on_near_valid_input(text: bytes):
    fast = _tokenize_fast(text, 1)
    ref, error = _tokenize_reference(text, 1, "<test>")
    if fast is not None:
        # Whatever the fast path accepts, the reference must accept identically.
        assert error is None
        _same_block(fast, ref)


@st.composite
def valid_lines(draw) -> bytes:
    """Lines that follow the grammar exactly, in all its variety."""
    ws = st.text(alphabet=" \t\x0b\x0c", min_size=1, max_size=3)
    digits = st.integers(0, 10**6).map(str) | st.sampled_from(["007", "0"])
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "# comment only", "\t#x:1"])))
            continue
        parts = [draw(_number), "qid:" + draw(digits)]
        for _ in range(draw(st.integers(0, 5))):
            value = draw(_number | st.just("NULL"))
            parts.append(draw(st.integers(1, 10**4).map(str)) + ":" + value)
        line = parts[0]
        for part in parts[1:]:
            line += draw(ws) + part
        if draw(st.booleans()):
            line += draw(st.sampled_from(["#", " #", "\t# "])) + draw(
                st.sampled_from(["docid = GX1-2", "a:b # c", "", "docid=x9 inc = 1"])
            )
        if draw(st.booleans()):
            line += draw(st.sampled_from([" ", "\r", "\t "]))
        lines.append(line)
    return "\n".join(lines).encode() + b"\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_lines())
def test_fast_tokenizer_accepts_valid_input_and_agrees_with_reference(text: bytes):
    fast = _tokenize_fast(text, 5)
    ref, error = _tokenize_reference(text, 5, "<test>")
    assert error is None
    assert fast is not None, "valid input must not fall back to the slow path"
    _same_block(fast, ref)


# A generous per-example deadline turns a hang (or a pathological slowdown) into a failure.
@settings(max_examples=300, deadline=timedelta(seconds=5))
@given(near_valid_lines())
def test_parser_parses_or_raises_its_own_error_on_near_valid_input(text: bytes):
    with contextlib.suppress(ParseError, DataFormatError):
        parse_svmlight(text, allow_empty=True)


@settings(max_examples=300, deadline=timedelta(seconds=5))
@given(st.binary(max_size=300))
def test_parser_parses_or_raises_its_own_error_on_random_bytes(raw: bytes):
    with contextlib.suppress(ParseError, DataFormatError):
        parse_svmlight(raw, allow_empty=True)


def test_fast_path_is_used_for_clean_data():
    # Guards the speed path: a valid block must not fall back to the reference parser.
    text = b"".join(
        b"%d qid:%d 1:%d.5 2:-1e-3 7:NULL # docid = d%d\n" % (i % 3, i // 5, i, i)
        for i in range(50)
    )
    assert _tokenize_fast(text, 1) is not None
