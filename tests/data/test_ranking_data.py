"""The in-memory layout: validation, selection and concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise.data import RankingData
from rankwise.data.ranking_data import _ranges
from rankwise.errors import DataFormatError


def _data(lengths=(2, 1, 3), width=2) -> RankingData:
    n = sum(lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return RankingData(
        features=np.arange(n * width, dtype=np.float32).reshape(n, width),
        labels=np.arange(n, dtype=np.float32),
        query_offsets=offsets,
        qids=np.arange(len(lengths)) + 100,
        docids=np.array([f"d{i}" for i in range(n)]),
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": np.zeros((6, 2), np.float64)}, "float32"),
        ({"features": np.zeros(6, np.float32)}, "2-d"),
        ({"labels": np.zeros(5, np.float32)}, "labels must have shape"),
        ({"query_offsets": np.array([0, 2, 2, 6])}, "strictly increasing"),
        ({"query_offsets": np.array([0, 2, 3, 5])}, "end at the number of documents"),
        ({"qids": np.array([1, 2])}, "one per query"),
        ({"docids": np.array(["a"])}, "docids must have shape"),
    ],
)
def test_inconsistent_arrays_are_rejected(change, message):
    base = _data()
    fields = {
        "features": base.features,
        "labels": base.labels,
        "query_offsets": base.query_offsets,
        "qids": base.qids,
        "docids": base.docids,
    }
    fields.update(change)
    with pytest.raises(DataFormatError, match=message):
        RankingData(**fields)


def test_select_queries_keeps_order_and_rows():
    data = _data()
    sub = data.select_queries([2, 0])
    np.testing.assert_array_equal(sub.qids, [102, 100])
    np.testing.assert_array_equal(sub.labels, [3, 4, 5, 0, 1])
    np.testing.assert_array_equal(sub.query_offsets, [0, 3, 5])
    assert sub.docids.tolist() == ["d3", "d4", "d5", "d0", "d1"]
    with pytest.raises(IndexError):
        data.select_queries([3])


def test_concat_offsets_and_missing_docids():
    a = _data((2, 1))
    b = RankingData(
        features=np.ones((2, 2), np.float32),
        labels=np.ones(2, np.float32),
        query_offsets=np.array([0, 2]),
        qids=np.array([7]),
    )
    c = RankingData.concat([a, b])
    np.testing.assert_array_equal(c.query_offsets, [0, 2, 3, 5])
    assert c.docids.tolist() == ["d0", "d1", "d2", "", ""]
    with pytest.raises(DataFormatError, match="different widths"):
        RankingData.concat([a, _data(width=3)])


def test_query_views_and_relevance():
    data = _data()
    features, labels = data.query(-1)
    np.testing.assert_array_equal(labels, [3, 4, 5])
    assert np.shares_memory(features, data.features)
    np.testing.assert_array_equal(data.has_relevant(), [True, True, True])
    np.testing.assert_array_equal(data.query_index(), [0, 0, 1, 2, 2, 2])


@pytest.mark.parametrize(
    ("starts", "lengths"),
    [([5, 0, 9], [2, 3, 1]), ([3], [0]), ([1, 4, 4], [0, 2, 0]), ([0, 10], [1, 4])],
)
def test_ranges_matches_python(starts, lengths):
    expected = [i for s, n in zip(starts, lengths, strict=True) for i in range(s, s + n)]
    got = _ranges(np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64))
    assert got.tolist() == expected
