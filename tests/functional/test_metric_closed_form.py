"""Hand-derived values on 2-5 item lists, one or more per metric and convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rankwise import functional as M


def t(*rows):
    return torch.tensor(rows, dtype=torch.float64)


S3 = t([3.0, 2.0, 1.0])  # ranking is the input order


def test_dcg_and_ndcg_by_hand():
    # linear gain, labels [1, 0, 2] at ranks 1..3: 1/log2(2) + 0 + 2/log2(4) = 2
    assert M.dcg(S3, t([1.0, 0.0, 2.0]), gain="linear").item() == pytest.approx(2.0)
    # exp2 gain: (2^1-1)/1 + (2^2-1)/2 = 2.5; ideal: 3/1 + 1/log2(3)
    ideal = 3.0 + 1.0 / math.log2(3)
    got = M.ndcg(S3, t([1.0, 0.0, 2.0])).item()
    assert got == pytest.approx(2.5 / ideal)
    # @1: 1 / 3
    assert M.ndcg(S3, t([1.0, 0.0, 2.0]), k=1).item() == pytest.approx(1 / 3)
    # k beyond the list is the whole list
    assert M.ndcg(S3, t([1.0, 0.0, 2.0]), k=50).item() == pytest.approx(2.5 / ideal)


def test_mrr_map_precision_recall_r_precision_by_hand():
    y = t([0.0, 1.0, 0.0, 1.0])  # relevant at ranks 2 and 4
    s = t([4.0, 3.0, 2.0, 1.0])
    assert M.reciprocal_rank(s, y).item() == pytest.approx(0.5)
    assert M.reciprocal_rank(s, y, k=1).item() == 0.0
    assert M.average_precision(s, y).item() == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert M.average_precision(s, y, k=3).item() == pytest.approx((1 / 2) / 2)
    assert M.precision(s, y, k=2).item() == pytest.approx(0.5)
    assert M.recall(s, y, k=2).item() == pytest.approx(0.5)
    assert M.r_precision(s, y).item() == pytest.approx(0.5)  # R = 2, one in the top 2
    assert M.hits(s, y, k=1).item() == 0.0
    assert M.hits(s, y, k=2).item() == 1.0
    assert M.hits(s, y, k=4, binary=False).item() == 2.0


def test_precision_on_a_list_shorter_than_k():
    s, y = t([1.0, 0.0]), t([1.0, 0.0])
    assert M.precision(s, y, k=5).item() == pytest.approx(0.5)  # whole list: 1 / 2
    assert M.precision(s, y, k=5, short_lists="pad").item() == pytest.approx(0.2)  # 1 / 5


def test_threshold_decides_relevance():
    s, y = S3, t([1.0, 2.0, 0.0])
    assert M.reciprocal_rank(s, y).item() == 1.0
    assert M.reciprocal_rank(s, y, threshold=2.0).item() == 0.5
    per_list = torch.tensor([2.0])
    assert M.reciprocal_rank(s, y, threshold=per_list).item() == 0.5


def test_err_by_hand():
    s2 = t([2.0, 1.0])
    assert M.err(s2, t([4.0, 0.0])).item() == pytest.approx(15 / 16)
    assert M.err(s2, t([0.0, 4.0])).item() == pytest.approx(0.5 * 15 / 16)
    r = 3 / 16  # label 2 on a 0..4 scale
    assert M.err(s2, t([2.0, 2.0])).item() == pytest.approx(r + 0.5 * (1 - r) * r)
    assert M.err(s2, t([2.0, 2.0]), max_label=2.0).item() == pytest.approx(0.75 + 0.5 * 0.25 * 0.75)
    with pytest.raises(ValueError, match="max_label"):
        M.err(s2, t([5.0, 0.0]))


def test_auc_and_pair_accuracy_by_hand():
    # relevant at ranks 1 and 3, one non-relevant at rank 2: wins 1 of 2 pairs
    assert M.auc(S3, t([1.0, 0.0, 1.0])).item() == pytest.approx(0.5)
    # reversed order of three grades: every pair wrong
    assert M.pair_accuracy(S3, t([0.0, 1.0, 2.0])).item() == 0.0
    assert M.pair_accuracy(S3, t([2.0, 1.0, 0.0])).item() == 1.0
    tied = t([1.0, 1.0, 0.0])
    labels = t([1.0, 0.0, 0.0])  # pairs: (0,1) tied, (0,2) right
    assert M.pair_accuracy(tied, labels).item() == pytest.approx(0.75)
    assert M.pair_accuracy(tied, labels, ties="pessimistic").item() == pytest.approx(0.5)
    assert M.pair_accuracy(tied, labels, ties="stable").item() == pytest.approx(1.0)


def test_average_ties_closed_forms():
    tied, y = t([1.0, 1.0]), t([1.0, 0.0])
    # the relevant item is first or second with probability 1/2
    assert M.reciprocal_rank(tied, y).item() == pytest.approx((1 + 1 / 2) / 2)
    assert M.ndcg(tied, y, gain="linear").item() == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert M.average_precision(tied, y).item() == pytest.approx((1 + 1 / 2) / 2)
    assert M.hits(tied, y, k=1).item() == pytest.approx(0.5)
    assert M.auc(tied, y).item() == pytest.approx(0.5)
    assert M.reciprocal_rank(tied, y, ties="pessimistic").item() == pytest.approx(0.5)
    assert M.reciprocal_rank(tied, y, ties="optimistic").item() == 1.0
    assert M.reciprocal_rank(tied, y, ties="stable").item() == 1.0
    assert M.reciprocal_rank(tied, t([0.0, 1.0]), ties="stable").item() == 0.5
    # three tied, two relevant: P(first relevant at 1) = 2/3, at 2 = 1/3
    assert M.reciprocal_rank(t([5.0, 5.0, 5.0]), t([1.0, 1.0, 0.0])).item() == pytest.approx(
        2 / 3 + 1 / 3 * 1 / 2
    )


def test_empty_policies_and_reduction():
    s = t([2.0, 1.0], [2.0, 1.0])
    y = t([1.0, 0.0], [0.0, 0.0])  # second list has no relevant item
    assert M.ndcg(s, y, reduction="none").tolist() == [1.0, 0.0]
    assert M.ndcg(s, y, empty="one", reduction="none").tolist() == [1.0, 1.0]
    skipped = M.ndcg(s, y, empty="skip", reduction="none")
    assert skipped[0].item() == 1.0 and math.isnan(skipped[1].item())
    assert M.ndcg(s, y).item() == 0.5
    assert M.ndcg(s, y, empty="one").item() == 1.0
    assert M.ndcg(s, y, empty="skip").item() == 1.0
    assert M.ndcg(s, y, empty="skip", reduction="sum").item() == 1.0
    assert M.ndcg(s, y, reduction="sum").item() == 1.0


def test_lists_without_real_items_are_not_counted():
    s = t([2.0, 1.0], [9.0, 9.0])
    y = t([1.0, 0.0], [3.0, 3.0])
    mask = torch.tensor([[True, True], [False, False]])
    for empty in ("zero", "one", "skip"):
        assert M.ndcg(s, y, mask=mask, empty=empty).item() == 1.0
    assert M.ndcg(s, y, mask=mask, reduction="none")[1].item() == 0.0
    all_padded = M.ndcg(s[1:], y[1:], mask=mask[1:])
    assert all_padded.item() == 0.0 and torch.isfinite(all_padded)


def test_numpy_in_numpy_out():
    out = M.ndcg(np.array([[3.0, 2.0, 1.0]]), np.array([[0.0, 0.0, 1.0]]), gain="linear")
    assert isinstance(out, np.ndarray)
    assert float(out) == pytest.approx(0.5)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="labels must be >= 0"):
        M.ndcg(S3, t([1.0, -1.0, 0.0]))
    with pytest.raises(ValueError, match="NaN"):
        M.ndcg(t([1.0, float("nan")]), t([1.0, 0.0]))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        M.ndcg(S3, t([1.0, 0.0, 0.0]), k=0)
    with pytest.raises(ValueError, match="empty must be one of"):
        M.ndcg(S3, t([1.0, 0.0, 0.0]), empty="nan")
    with pytest.raises(ValueError, match="ties must be one of"):
        M.ndcg(S3, t([1.0, 0.0, 0.0]), ties="random")
    with pytest.raises(ValueError, match="shape"):
        M.ndcg(S3, t([1.0, 0.0]))
    with pytest.raises(ValueError, match="bool"):
        M.ndcg(S3, t([1.0, 0.0, 0.0]), mask=torch.ones(1, 3))


def test_real_items_scoring_minus_infinity_rank_before_padding():
    s = t([float("-inf"), 5.0, 7.0])
    y = t([1.0, 0.0, 0.0])
    mask = torch.tensor([[True, True, False]])
    # the relevant item is real and second (after 5.0); the padded 7.0 does not count
    assert M.reciprocal_rank(s, y, mask=mask, ties="stable").item() == 0.5


def test_preference_accuracy():
    chosen = torch.tensor([2.0, 1.0, 0.5, 3.0])
    rejected = torch.tensor([1.0, 1.0, 0.7, 0.0])
    assert M.preference_accuracy(chosen, rejected).item() == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert M.preference_accuracy(chosen, rejected, ties="pessimistic").item() == 0.5
    assert M.preference_accuracy(chosen, rejected, reduction="none").tolist() == [1, 0.5, 0, 1]
