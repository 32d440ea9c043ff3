"""rankwise's list losses against sentence-transformers' CrossEncoder losses on the same
logits (sentence-transformers from the dev extra; its losses compute the logits from a
model, so a stand-in model returns given logits for the pairs it is asked to score).

Where they agree: LambdaLoss (NDCGLoss2++), RankNet, ListNet and ListMLE on lists of
different lengths (padding) with untied scores and labels, values and gradients. Where
they do not, and why:

- **ListMLE's default ignores the labels**: ``ListMLELoss(respect_input_order=True)``,
  the default, takes the documents' input order as the ranking to learn, whatever their
  labels; only ``respect_input_order=False`` sorts by label. rankwise always ranks by
  label (the test shows the default's value does not move when the labels do).
- **Tied labels in ListMLE**: sentence-transformers orders the documents by
  ``labels.sort(descending=True)``, which does not define the order of equal labels, so
  its value is the Plackett-Luce likelihood of *some* order of the tied documents, chosen
  by the sort's implementation. rankwise states it: input order, or a random order drawn
  from ``generator`` (the expectation over tie orders). The test shows that
  sentence-transformers' value is one of rankwise's tie orders.
- **Tied scores in LambdaLoss/RankNet**: sentence-transformers sorts the logits with
  ``sort(descending=True)``; equal logits get positions (hence NDCG discounts) in an
  unspecified order. rankwise ranks ties in input order (``rank_pairs``); the tests show
  the values agree whenever the scores are distinct.
- **Batch reduction**: sentence-transformers' LambdaLoss and RankNet average over every
  pair of the whole batch, so a list's weight grows with its number of pairs; rankwise's
  mean is over lists (each list's pair sum or mean, ``per_list``). The test reproduces
  sentence-transformers by summing rankwise's per-list totals and dividing by the pair
  count computed here from the labels.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise import functional as F

losses = pytest.importorskip("sentence_transformers.cross_encoder.losses")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class GivenLogits(torch.nn.Module):
    """A stand-in CrossEncoder whose score of pair i is ``logits[i]``."""

    num_labels = 1

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits
        self.asked = 0

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def preprocess(self, pairs, prompt=None, task=None):
        start = self.asked
        self.asked += len(pairs)
        return {"index": torch.arange(start, start + len(pairs))}

    def forward(self, tokens):
        return {"scores": self.logits[tokens["index"]]}


@st.composite
def batches(draw, tied_labels: bool = True):
    b = draw(st.integers(1, 4))
    lengths = [draw(st.integers(2, 6)) for _ in range(b)]
    width = max(lengths)
    # distinct scores: a permutation of spaced values with a small jitter
    n = sum(lengths)
    base = draw(st.permutations(list(range(n))))
    jitter = draw(st.lists(st.floats(0, 0.4), min_size=n, max_size=n))
    flat = torch.tensor(
        [v * 0.7 - n * 0.3 + j for v, j in zip(base, jitter, strict=True)], dtype=torch.float64
    )
    if tied_labels:
        labels = [[float(draw(st.integers(0, 3))) for _ in range(m)] for m in lengths]
    else:
        labels = [[float(x) for x in draw(st.permutations(list(range(m))))] for m in lengths]
    scores = torch.zeros(b, width, dtype=torch.float64)
    y = torch.zeros(b, width, dtype=torch.float64)
    mask = torch.zeros(b, width, dtype=torch.bool)
    i = 0
    for row, m in enumerate(lengths):
        scores[row, :m] = flat[i : i + m]
        y[row, :m] = torch.tensor(labels[row], dtype=torch.float64)
        mask[row, :m] = True
        i += m
    return scores, y, mask, labels


def _st(loss_cls, scores, mask, labels, **kwargs):
    flat = scores[mask].float().clone().requires_grad_(True)
    model = GivenLogits(flat)
    loss = loss_cls(model, **kwargs)
    docs = [[f"d{j}" for j in range(len(row))] for row in labels]
    value = loss([["q"] * len(labels), docs], [torch.tensor(row) for row in labels])
    value.backward()
    return value.detach().double(), flat.grad.double()


def _ours(fn, scores, y, mask, **kwargs):
    s = scores.clone().requires_grad_(True)
    value = fn(s, y, mask=mask, **kwargs)
    value.backward()
    return value.detach(), s.grad[mask]


def _pairs(y, mask, k=None):
    """Pairs with y_i > y_j among real items, both in the list (ST's count)."""
    total = 0
    for row in range(y.shape[0]):
        real = y[row][mask[row]].tolist()
        total += sum(1 for a, b in itertools.permutations(real, 2) if a > b)
    return total


def _close(a, b, rel=2e-5):
    a, b = float(torch.as_tensor(a).detach()), float(torch.as_tensor(b).detach())
    assert abs(a - b) <= rel * max(1.0, abs(b)), (a, b)


@SETTINGS
@given(batches())
def test_lambda_loss_equals_sentence_transformers_on_untied_scores(batch):
    scores, y, mask, labels = batch
    want, want_grad = _st(losses.LambdaLoss, scores, mask, labels)
    pairs = _pairs(y, mask)
    s = scores.clone().requires_grad_(True)
    total = F.lambda_loss(s, y, mask=mask, reduction="sum", per_list="sum", k_rule="either")
    value = total / max(pairs, 1)
    value.backward()
    _close(value, want)
    torch.testing.assert_close(s.grad[mask], want_grad, rtol=1e-4, atol=1e-6)


@SETTINGS
@given(batches())
def test_ranknet_equals_sentence_transformers_as_a_pair_mean(batch):
    scores, y, mask, labels = batch
    want, want_grad = _st(losses.RankNetLoss, scores, mask, labels)
    pairs = _pairs(y, mask)
    s = scores.clone().requires_grad_(True)
    # RankNet: every ordered pair weighs 1 (sentence-transformers: NoWeightingScheme)
    total = F.lambda_loss(
        s, y, mask=mask, reduction="sum", per_list="sum", lambda_weights="ranknet"
    )
    value = total / max(pairs, 1)
    value.backward()
    _close(value, want)
    torch.testing.assert_close(s.grad[mask], want_grad, rtol=1e-4, atol=1e-6)


@SETTINGS
@given(batches())
def test_listnet_equals_sentence_transformers_with_softmax_targets(batch):
    scores, y, mask, labels = batch
    want, want_grad = _st(losses.ListNetLoss, scores, mask, labels)
    value, grad = _ours(F.softmax_loss, scores, y, mask, target="softmax")
    _close(value, want)
    torch.testing.assert_close(grad, want_grad, rtol=1e-4, atol=1e-6)


@SETTINGS
@given(batches(tied_labels=False))
def test_listmle_equals_sentence_transformers_on_untied_labels(batch):
    scores, y, mask, labels = batch
    want, want_grad = _st(losses.ListMLELoss, scores, mask, labels, respect_input_order=False)
    value, grad = _ours(F.listmle_loss, scores, y, mask)
    _close(value, want)
    torch.testing.assert_close(grad, want_grad, rtol=1e-4, atol=1e-6)


def test_sentence_transformers_default_listmle_ignores_the_labels():
    scores = torch.tensor([[0.3, -0.6, 0.1]], dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    values = {
        round(float(_st(losses.ListMLELoss, scores, mask, [labels])[0]), 9)
        for labels in ([0.0, 1.0, 2.0], [2.0, 1.0, 0.0], [1.0, 0.0, 0.0])
    }
    assert len(values) == 1  # the same value for any labels: the input order is the target
    ours = {
        round(F.listmle_loss(scores, torch.tensor([labels], dtype=torch.float64)).item(), 9)
        for labels in ([0.0, 1.0, 2.0], [2.0, 1.0, 0.0], [1.0, 2.0, 0.0])
    }
    assert len(ours) == 3


def test_listmle_with_tied_labels_is_one_tie_order_of_rankwise():
    scores = torch.tensor([[2.0, -1.0, 0.5, 1.5, 0.0]], dtype=torch.float64)
    labels = [[1.0, 1.0, 0.0, 1.0, 0.0]]
    y = torch.tensor(labels, dtype=torch.float64)
    mask = torch.ones_like(y, dtype=torch.bool)
    want, _ = _st(losses.ListMLELoss, scores, mask, labels, respect_input_order=False)
    # every order of the tied documents, as rankwise computes it (input order after a
    # permutation of the list)
    values = set()
    for perm in itertools.permutations(range(5)):
        p = torch.tensor(perm)
        values.add(F.listmle_loss(scores[:, p], y[:, p]).item())
    assert len(values) > 1  # the tie order matters
    assert min(abs(v - want.item()) for v in values) < 1e-5  # float32 there, float64 here
    # rankwise names its tie rule: input order by default, the expectation when drawing
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([F.listmle_loss(scores, y, generator=g) for _ in range(200)])
    assert draws.std() > 0
