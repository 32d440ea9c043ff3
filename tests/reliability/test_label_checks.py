"""One label check for losses and metrics: NaN, inf and negative labels at real items,
an integer ``k``, exp2 gains that overflow, empty ``[B, 0]`` batches (issue 13, §2-3)."""

from __future__ import annotations

import math

import pytest
import torch

from rankwise import functional as F
from rankwise.losses import LOSSES, DistillationLoss

# distillation losses need teacher scores and ordinal per-level scores: built separately
LIST_LOSSES = [
    n for n in LOSSES.names() if n != "ordinal" and not issubclass(LOSSES[n], DistillationLoss)
]

SCORES = torch.tensor([[0.3, -1.2, 2.0, 0.1], [1.0, 0.5, -0.5, 9.0]])
MASK = torch.tensor([[True, True, True, True], [True, True, True, False]])
LABELS = torch.tensor([[2.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


def _with(value: float, at: tuple[int, int] = (0, 1)) -> torch.Tensor:
    labels = LABELS.clone()
    labels[at] = value
    return labels


@pytest.mark.parametrize("name", LIST_LOSSES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_every_list_loss_rejects_a_bad_label_at_a_real_item(name: str, bad: float):
    scores = SCORES.clone().requires_grad_(True)
    with pytest.raises(ValueError, match="labels"):
        LOSSES.build(name, {})(scores, _with(bad), MASK)


@pytest.mark.parametrize("name", LIST_LOSSES)
def test_a_bad_label_at_a_padded_item_is_ignored(name: str):
    # padding is free to hold anything: it is never looked at
    value = LOSSES.build(name, {})(SCORES, _with(math.nan, at=(1, 3)), MASK)
    assert torch.isfinite(value)


def test_neural_ndcg_with_a_nan_label_raises_instead_of_a_nan_gradient():
    scores = SCORES.clone().requires_grad_(True)
    with pytest.raises(ValueError, match="NaN at real"):
        F.neural_ndcg_loss(scores, _with(math.nan), mask=MASK)


@pytest.mark.parametrize(
    "metric", [F.ndcg, F.dcg, F.reciprocal_rank, F.average_precision, F.precision, F.err, F.recall]
)
@pytest.mark.parametrize("bad", [math.nan, -1.0])
def test_metrics_use_the_same_check(metric, bad: float):
    with pytest.raises(ValueError, match="labels"):
        metric(SCORES, _with(bad), mask=MASK)


@pytest.mark.parametrize("k", [True, 2.5, 0, -3, "3"])
def test_k_must_be_a_positive_integer_for_metrics_and_losses(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        F.ndcg(SCORES, LABELS, mask=MASK, k=k)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        F.neural_ndcg_loss(SCORES, LABELS, mask=MASK, k=k)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        F.lambda_loss(SCORES, LABELS, mask=MASK, k=k)


@pytest.mark.parametrize(("dtype", "limit"), [(torch.float32, 128.0), (torch.float64, 1024.0)])
def test_exp2_gain_that_overflows_raises_for_metrics_and_losses(dtype, limit: float):
    scores = SCORES.to(dtype)
    below = _with(limit - 1).to(dtype)
    value = F.ndcg(scores, below, mask=MASK)
    # expected independently: list 1 has gains 2^(limit-1)-1 at rank 3 of 4 (scores
    # 2.0, 0.3, 0.1, -1.2 -> labels 0, 2, 0, big) vs the ideal order; list 2 is perfect
    big = 2.0 ** (limit - 1) - 1
    dcg = 3 / math.log2(3) + big / math.log2(5)
    idcg = big + 3 / math.log2(3)
    expected = (dcg / idcg + 1.0) / 2
    assert value.item() == pytest.approx(expected, rel=1e-5)
    over = _with(limit).to(dtype)
    with pytest.raises(ValueError, match="overflow"):
        F.ndcg(scores, over, mask=MASK)
    with pytest.raises(ValueError, match="overflow"):
        F.neural_ndcg_loss(scores, over, mask=MASK)
    with pytest.raises(ValueError, match="overflow"):
        F.lambda_loss(scores, over, mask=MASK)
    # linear gains have no such limit
    assert torch.isfinite(F.ndcg(scores, over, mask=MASK, gain="linear"))


@pytest.mark.parametrize("name", LIST_LOSSES)
def test_every_list_loss_accepts_an_empty_batch_of_lists(name: str):
    scores = torch.zeros(3, 0, requires_grad=True)
    value = LOSSES.build(name, {})(scores, torch.zeros(3, 0), torch.zeros(3, 0, dtype=torch.bool))
    assert value.item() == 0.0
    value.backward()
    assert scores.grad is not None and scores.grad.shape == (3, 0)


def test_ordinal_and_distillation_losses_accept_an_empty_batch():
    mask = torch.zeros(2, 0, dtype=torch.bool)
    levels = torch.zeros(2, 0, 3, requires_grad=True)
    assert F.ordinal_loss(levels, torch.zeros(2, 0), mask=mask).item() == 0.0
    student = torch.zeros(2, 0, requires_grad=True)
    assert F.pl_distillation_loss(student, torch.zeros(2, 0), mask=mask).item() == 0.0


@pytest.mark.parametrize("empty", ["zero", "one"])
def test_metrics_of_an_empty_batch_are_lists_without_items(empty: str):
    # the documented rule: a list without a real item is 0 and never counted in the mean
    none = torch.zeros(2, 0)
    mask = torch.zeros(2, 0, dtype=torch.bool)
    assert F.ndcg(none, none, mask=mask, empty=empty, reduction="none").tolist() == [0.0, 0.0]
    with_one = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    alone = F.ndcg(*with_one).item()
    both = torch.cat([with_one[0], torch.zeros(1, 2)]), torch.cat([with_one[1], torch.zeros(1, 2)])
    padded = torch.tensor([[True, True], [False, False]])
    assert F.ndcg(*both, mask=padded, empty=empty).item() == alone == 1.0
