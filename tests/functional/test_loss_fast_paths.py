"""The closed-form CPU fast paths (Plackett-Luce suffix sums, softmax cross-entropy)
agree with the exact, autograd-traced computations, and hand over to them where the
fast path would lose precision."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

from rankwise.functional import softmax_loss
from rankwise.functional._losses.common import (
    prepare,
    reverse_logcumsumexp,
    softmax_cross_entropy,
)
from rankwise.functional._losses.listwise import _stable_label_order
from rankwise.functional._losses.plackett_luce import plackett_luce_nll


def exact_plackett_luce(scores, order, mask, weights):
    """The definition, traced by autograd through torch.logcumsumexp."""
    s = scores.gather(1, order)
    m = mask.gather(1, order)
    s = s.masked_fill(~m, 0.0)
    steps = reverse_logcumsumexp(s, m) - s
    if weights is not None:
        steps = steps * weights
    return steps.masked_fill(~m, 0.0).sum(dim=1)


def random_lists(seed, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(5, 9, generator=g, dtype=dtype) * scale
    lengths = torch.tensor([9, 6, 1, 0, 4])
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    # real items first in order, in a random arrangement
    key = torch.rand(5, 9, generator=g) + (~mask).float() * 2
    order = key.argsort(dim=1)
    return s, order, mask


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_plackett_luce_fast_path_matches_the_exact_scan(weighted, dtype):
    s, order, mask = random_lists(0, dtype)
    w = torch.rand(5, 9, dtype=dtype) if weighted else None
    # garbage at masked positions must not matter
    s = s.masked_fill(~mask, float("nan"))
    a = s.clone().requires_grad_(True)
    b = s.clone().requires_grad_(True)
    fast = plackett_luce_nll(a, order, mask, mask.any(dim=1), w)
    exact = exact_plackett_luce(b.masked_fill(~mask, 0.0), order, mask, w)
    torch.testing.assert_close(fast, exact)
    upstream = torch.rand(5, dtype=dtype)
    (fast * upstream).sum().backward()
    (exact * upstream).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)
    assert torch.all(a.grad[~mask] == 0)


def test_plackett_luce_gradcheck_with_weights():
    s, order, mask = random_lists(1)
    w = torch.rand(5, 9, dtype=torch.float64)
    x = s.clone().requires_grad_(True)
    assert gradcheck(lambda t: plackett_luce_nll(t, order, mask, mask.any(dim=1), w), (x,))


def test_plackett_luce_far_apart_scores_fall_back_to_the_exact_scan():
    """Scores 200 nats apart would underflow the float32 suffix sums: the result must
    still be the exact, finite likelihood."""
    s = torch.tensor([[0.0, -200.0, -400.0]], requires_grad=True)
    order = torch.tensor([[0, 1, 2]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    value = plackett_luce_nll(s, order, mask, mask.any(dim=1))
    # log(e^0 + e^-200 + e^-400) - 0 + log(e^-200 + e^-400) + 200 + 0, in float64
    t = torch.tensor([0.0, -200.0, -400.0], dtype=torch.float64)
    expected = (torch.logsumexp(t, 0) - t[0]) + (torch.logsumexp(t[1:], 0) - t[1])
    assert torch.isfinite(value).all()
    assert float(value.detach()) == pytest.approx(float(expected), abs=1e-5)
    value.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_softmax_cross_entropy_matches_the_log_softmax_definition():
    s, _, mask = random_lists(2)
    p = torch.rand(5, 9, dtype=torch.float64).masked_fill(~mask, 0.0)
    x = prepare("t", s.requires_grad_(True), p, mask, None, "none")
    value = softmax_cross_entropy(x, p, mask.any(dim=1), "none")
    ref_s = s.detach().clone().requires_grad_(True)
    log_p = torch.log_softmax(ref_s.masked_fill(~mask, float("-inf")), dim=1)
    ref = -(p * log_p.masked_fill(~mask, 0.0)).sum(dim=1)
    has = mask.any(dim=1)
    torch.testing.assert_close(value[has], ref[has])
    value[has].sum().backward()
    ref[has].sum().backward()
    torch.testing.assert_close(s.grad, ref_s.grad)


def test_softmax_cross_entropy_gradcheck_in_scores_and_target():
    s, _, mask = random_lists(3)
    p = torch.rand(5, 9, dtype=torch.float64)
    has = mask.any(dim=1)

    def f(scores, target):
        x = prepare("t", scores, target, mask, None, "none")
        return softmax_cross_entropy(x, x.labels, has, "none")[has]

    args = (s.clone().requires_grad_(True), p.clone().requires_grad_(True))
    assert gradcheck(f, args)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("list_weighted", [False, True])
@pytest.mark.parametrize("target", ["softmax", "normalize", "raw"])
def test_listnet_reduced_in_one_node_equals_values_then_the_reduction_rule(
    reduction, list_weighted, target
):
    """The fused softmax loss returns what the per-list definition followed by
    ``finish`` (zeroing skipped lists, list weights, the reduction) gives, value and
    gradient, with garbage at masked positions and lists that carry no signal."""
    s, _, mask = random_lists(4)
    g = torch.Generator().manual_seed(4)
    labels = torch.randint(0, 3, (5, 9), generator=g).double()
    labels[1] = 0.0  # real items, no positive label: no signal unless target="softmax"
    weights = torch.rand(5, generator=g, dtype=torch.float64) if list_weighted else None
    garbage_s = s.masked_fill(~mask, float("inf"))
    garbage_y = labels.masked_fill(~mask, 7.0)

    fused_in = garbage_s.clone().requires_grad_(True)
    fused = softmax_loss(
        fused_in, garbage_y, mask=mask, weights=weights, reduction=reduction, target=target
    )

    ref_in = s.clone().requires_grad_(True)
    y = labels.masked_fill(~mask, 0.0)
    if target == "softmax":
        p = torch.softmax(labels.masked_fill(~mask, float("-inf")), dim=1).nan_to_num(0.0)
        signal = mask.any(dim=1)
    elif target == "normalize":
        p = y / y.sum(dim=1, keepdim=True).clamp(min=1e-300)
        signal = y.sum(dim=1) > 0
    else:
        p, signal = y, (y != 0).any(dim=1)
    log_q = torch.log_softmax(ref_in.masked_fill(~mask, float("-inf")), dim=1)
    per_list = -(p * log_q.masked_fill(~mask, 0.0)).sum(dim=1)
    qualifies = signal & mask.any(dim=1)
    per_list = torch.where(qualifies, per_list, torch.zeros_like(per_list))
    if weights is not None:
        per_list = per_list * weights
    if reduction == "none":
        expected = per_list
    elif reduction == "sum":
        expected = per_list.sum()
    else:
        expected = per_list.sum() / qualifies.sum().clamp(min=1)
    torch.testing.assert_close(fused, expected)
    upstream = torch.rand(fused.shape, generator=g, dtype=torch.float64)
    (fused * upstream).sum().backward()
    (expected * upstream).sum().backward()
    torch.testing.assert_close(fused_in.grad, ref_in.grad)


def test_listnet_passes_the_gradient_to_learnable_list_weights():
    s, _, mask = random_lists(5)
    labels = torch.rand(5, 9, dtype=torch.float64)
    w = torch.rand(5, dtype=torch.float64, requires_grad=True)
    value = softmax_loss(s, labels, mask=mask, weights=w, target="softmax")
    value.backward()
    per_list = softmax_loss(s, labels, mask=mask, target="softmax", reduction="none")
    # d mean(w_b v_b) / d w_b = v_b / (number of lists with a real item)
    torch.testing.assert_close(w.grad, per_list / mask.any(dim=1).sum())


def _written_out_soft_rank(scores, mask, temperature):
    """The smooth rank as its definition reads, differentiated by autograd."""
    s = scores.masked_fill(~mask, 0.0)
    pair = mask.unsqueeze(1) & mask.unsqueeze(2)
    eye = torch.eye(s.shape[1], dtype=torch.bool).unsqueeze(0)
    diff = s.unsqueeze(1) - s.unsqueeze(2)  # s_j - s_i
    return (1.0 + (torch.sigmoid(diff / temperature) * (pair & ~eye)).sum(dim=2)) * mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("temperature", [0.1, 1.0, 3.0])
def test_pairwise_soft_rank_with_its_own_backward_equals_autograd(dtype, temperature):
    from rankwise.functional._soft_sorting import soft_rank

    g = torch.Generator().manual_seed(int(temperature * 10))
    scores = (torch.randn(6, 17, generator=g, dtype=dtype) * 3).requires_grad_(True)
    mask = torch.rand(6, 17, generator=g) > 0.3
    mask[0] = False  # a list without a real item
    mask[1, 1:] = False  # one real item
    weights = torch.randn(6, 17, generator=g, dtype=dtype)
    ours = soft_rank(scores, mask, temperature=temperature)
    theirs = _written_out_soft_rank(scores, mask, temperature)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=tol * 17)
    (g_ours,) = torch.autograd.grad((ours * weights).sum(), scores)
    (g_theirs,) = torch.autograd.grad((theirs * weights).sum(), scores)
    torch.testing.assert_close(g_ours, g_theirs, rtol=tol, atol=tol * 17 / temperature)
    assert not g_ours[~mask].any()  # padding gets no gradient


@settings(max_examples=120, deadline=None)
@given(
    batch=st.integers(0, 6),
    length=st.integers(1, 40),
    top=st.sampled_from([1, 4, 30, 31, 200]),
    fractional=st.booleans(),
    padded=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_label_order_by_counting_is_the_stable_sort(batch, length, top, fractional, padded, seed):
    """Graded labels ordered by counting (few integer levels) or by the sort (many levels,
    fractional labels) give exactly the stable descending sort, real items first, ties
    in input order, whatever the masked positions hold."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, top + 1, (batch, length), generator=g).float()
    if fractional:
        labels = labels + 0.5 * (torch.rand(batch, length, generator=g) < 0.2)
    mask = torch.rand(batch, length, generator=g) >= padded
    garbage = torch.tensor([float("nan"), -7.0, 0.25, 1e9])
    labels = torch.where(mask, labels, garbage[torch.randint(0, 4, (batch, length), generator=g)])
    expected = torch.sort(
        labels.masked_fill(~mask, float("-inf")), dim=1, descending=True, stable=True
    ).indices
    assert torch.equal(_stable_label_order(labels, mask), expected)
