"""LambdaLoss's fused path for the gain-gap weightings (lambdarank, NDCG-Loss2,
NDCG-Loss2++) against the generic pair path traced by autograd (the one the allRank and
Rax golden files check), in float64: values, gradients and the pair counts behind
``per_list="mean"`` and the lists without signal, with ties, padding anywhere, empty
lists, both cut-off rules, item weights and allRank's eps floor (pair losses capped)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankwise.functional import lambda_loss


@st.composite
def batches(draw):
    batch = draw(st.integers(1, 5))
    length = draw(st.integers(1, 14))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    s = torch.randn(batch, length, generator=g, dtype=torch.float64)
    if draw(st.booleans()):
        s = (s * 2).round() / 2  # tied scores
    y = torch.randint(0, 4, (batch, length), generator=g).to(torch.float64)
    lengths = torch.randint(0, length + 1, (batch,), generator=g)
    mask = (torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)).gather(
        1, torch.rand(batch, length, generator=g).argsort(dim=1)
    )
    w = torch.rand(batch, length, generator=g, dtype=torch.float64) + 0.5
    return s, y, mask, w


def run(s, y, mask, w, traced, **kw):
    x = s.clone().requires_grad_(True)
    # A label that needs a gradient sends the loss down the generic, autograd-traced path.
    labels = y.clone().requires_grad_(traced)
    value = lambda_loss(x, labels, mask=mask, weights=w, reduction="none", **kw)
    value.sum().backward()
    return value.detach(), x.grad


@settings(max_examples=80, deadline=None)
@given(
    data=batches(),
    scheme=st.sampled_from(["lambdarank", "ndcg_loss2", "ndcg_loss2pp"]),
    k=st.sampled_from([None, 1, 3]),
    k_rule=st.sampled_from(["both", "either"]),
    per_list=st.sampled_from(["sum", "mean"]),
    weighted=st.booleans(),
    sigma=st.sampled_from([1.0, 2.5]),
)
def test_fused_lambda_loss_equals_the_traced_pairs(
    data, scheme, k, k_rule, per_list, weighted, sigma
):
    s, y, mask, w = data
    kw = dict(lambda_weights=scheme, k=k, k_rule=k_rule, per_list=per_list, sigma=sigma)
    weights = w if weighted else None
    fused, g_fused = run(s, y, mask, weights, False, **kw)
    traced, g_traced = run(s, y, mask, weights, True, **kw)
    assert torch.allclose(fused, traced, rtol=1e-10, atol=1e-12)
    assert torch.allclose(g_fused, g_traced, rtol=1e-9, atol=1e-12)
    assert torch.all(g_fused[~mask] == 0)


def test_fused_lambda_loss_refuses_second_order_gradients():
    s = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 3, (2, 6)).to(torch.float64)
    (grad,) = torch.autograd.grad(lambda_loss(s, y), s, create_graph=False)
    assert torch.isfinite(grad).all()
    with pytest.raises(RuntimeError, match="first-order gradients only"):
        torch.autograd.grad(lambda_loss(s, y), s, create_graph=True)


def test_fused_lambda_loss_on_lists_longer_than_the_cached_factor():
    """Past 2048 items the position factor is made per chunk instead of once."""
    g = torch.Generator().manual_seed(11)
    s = torch.randn(2, 2100, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (2, 2100), generator=g).to(torch.float64)
    mask = torch.rand(2, 2100, generator=g) > 0.2
    kw = dict(lambda_weights="ndcg_loss2pp", k=1500, k_rule="either")
    fused, g_fused = run(s, y, mask, None, False, **kw)
    traced, g_traced = run(s, y, mask, None, True, **kw)
    assert torch.allclose(fused, traced, rtol=1e-10)
    assert torch.allclose(g_fused, g_traced, rtol=1e-8, atol=1e-14)
