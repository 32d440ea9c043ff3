"""Conformance of every registered embedding and recommendation loss, on hypothesis inputs.

For each entry of ``rankwise.losses.EMBEDDING_LOSSES`` and ``RECOMMENDATION_LOSSES`` (its
module with the default parameters), whatever its inputs:

- the value and its gradient are finite, also for batches without a positive pair (label
  losses) and for scores of ±30 (recommendation losses);
- the value does not depend on the order of the batch (rows permuted together);
- ``reduction="none"`` sums to ``"sum"`` where the loss has a reduction;
- recommendation losses: negatives masked out by ``neg_mask`` change nothing, whatever
  they hold.

The inputs a loss takes are read from its function's signature, so a loss registered with
a kind of input this suite does not know fails here until the suite learns it.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise.losses import EMBEDDING_LOSSES, RECOMMENDATION_LOSSES

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inputs_kind(name: str) -> str:
    target = EMBEDDING_LOSSES[name]
    function = getattr(target, "function", None)
    signature = inspect.signature(function if function is not None else target.forward)
    positional = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]
    kinds = {
        ("embeddings", "labels"): "labelled",
        ("queries", "keys"): "paired",
        ("x", "y"): "paired",
        ("x",): "single",
        ("z",): "single",
        ("pos_scores", "neg_scores"): "pair_scores",
        ("support", "support_labels", "query", "query_labels"): "episode",
    }
    if tuple(positional) not in kinds:
        pytest.fail(f"{name}: inputs {positional} are unknown to the conformance suite")
    return kinds[tuple(positional)]


@st.composite
def labelled(draw):
    n = draw(st.integers(4, 9))
    classes = draw(st.integers(1, n))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def _call(name: str, x: torch.Tensor, y: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    kind = _inputs_kind(name)
    if kind == "labelled":
        return module(x, y)
    if kind == "paired":
        return module(x, x.roll(1, dims=1) + 0.1 * x)
    if kind == "single":
        return module(x)
    if kind == "pair_scores":
        sim = x @ x.T
        return module(sim, -sim, pos_mask=(y.unsqueeze(0) == y.unsqueeze(1)))
    # an episode: the first two items of each class are the support set
    classes = torch.unique(y)
    support = torch.cat([torch.nonzero(y == c)[:1, 0] for c in classes])
    if classes.numel() < 2:
        support = torch.tensor([0, 1])
        y = torch.tensor([0, 1] + [0] * (y.numel() - 2))
    return module(x[support], y[support], x, y)


def _module(name: str) -> torch.nn.Module:
    module: torch.nn.Module = EMBEDDING_LOSSES.build(name)
    return module.double()


@pytest.mark.parametrize("name", sorted(EMBEDDING_LOSSES))
@SETTINGS
@given(batch=labelled())
def test_embedding_losses_are_finite_with_finite_gradients(name, batch):
    x, y = batch
    x = x.clone().requires_grad_(True)
    value = _call(name, x, y, _module(name))
    (grad,) = torch.autograd.grad(value, x, allow_unused=True)
    assert torch.isfinite(value).all(), name
    assert grad is None or torch.isfinite(grad).all(), name


@pytest.mark.parametrize("name", sorted(EMBEDDING_LOSSES))
@SETTINGS
@given(batch=labelled())
def test_embedding_losses_do_not_depend_on_the_batch_order(name, batch):
    x, y = batch
    if _inputs_kind(name) == "episode":
        return  # the support set is chosen by position
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    module = _module(name)
    torch.testing.assert_close(
        _call(name, x, y, module), _call(name, x[perm], y[perm], module), rtol=1e-9, atol=1e-10
    )


@pytest.mark.parametrize("name", sorted(EMBEDDING_LOSSES))
def test_embedding_reductions_agree(name):
    module = _module(name)
    if "reduction" not in inspect.signature(type(module)).parameters:
        return  # alignment, uniformity, dispersive, contextual similarity: one value
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 4, generator=g, dtype=torch.float64)
    y = torch.arange(9) % 3
    values = {}
    for reduction in ("none", "sum"):
        module.reduction = reduction
        if hasattr(module, "params"):
            module.params["reduction"] = reduction
        values[reduction] = _call(name, x, y, module)
    torch.testing.assert_close(values["none"].sum(), values["sum"])


@st.composite
def sampled(draw):
    b = draw(st.integers(1, 5))
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    scale = draw(st.sampled_from([1.0, 30.0]))
    pos = torch.tanh(torch.randn(b, generator=g, dtype=torch.float64)) * scale
    neg = torch.tanh(torch.randn(b, n, generator=g, dtype=torch.float64)) * scale
    keep = torch.rand(b, n, generator=g) > 0.3
    keep[:, 0] = True
    return pos, neg, keep


def _recommendation(name: str, reduction: str = "mean") -> torch.nn.Module:
    module: torch.nn.Module = RECOMMENDATION_LOSSES.build(name, {"reduction": reduction})
    return module


@pytest.mark.parametrize("name", sorted(RECOMMENDATION_LOSSES))
@SETTINGS
@given(batch=sampled())
def test_recommendation_losses_are_finite_and_ignore_masked_negatives(name, batch):
    pos, neg, keep = batch
    pos = pos.clone().requires_grad_(True)
    neg = neg.clone().requires_grad_(True)
    module = _recommendation(name, "none")
    value = module(pos, neg, neg_mask=keep)
    grads = torch.autograd.grad(value.sum(), (pos, neg), allow_unused=True)
    assert torch.isfinite(value).all()
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    garbage = torch.where(keep, neg.detach(), torch.full_like(neg, 1e4))
    torch.testing.assert_close(module(pos.detach(), garbage, neg_mask=keep), value.detach())


@pytest.mark.parametrize("name", sorted(RECOMMENDATION_LOSSES))
@SETTINGS
@given(batch=sampled())
def test_recommendation_losses_are_per_user(name, batch):
    pos, neg, keep = batch
    none = _recommendation(name, "none")(pos, neg, neg_mask=keep)
    total = _recommendation(name, "sum")(pos, neg, neg_mask=keep)
    torch.testing.assert_close(none.sum(), total)
    perm = torch.randperm(pos.shape[0], generator=torch.Generator().manual_seed(2))
    permuted = _recommendation(name, "none")(pos[perm], neg[perm], neg_mask=keep[perm])
    torch.testing.assert_close(permuted, none[perm])
