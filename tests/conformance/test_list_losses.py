"""Conformance of every registered list loss (the contract of docs/architecture.md).

For each loss in ``rankwise.losses.LOSSES`` (with its defaults):

- values and gradients are unchanged when lists are padded further, whatever the
  padding holds;
- ``reduction="none"`` equals per-list calls and sums to ``reduction="sum"``;
  ``"mean"`` averages exactly the lists with signal;
- all-padded, all-zero-label, all-tied and single-item lists give finite values and
  gradients; scores of ±1e4 stay finite in float32;
- a list's value does not depend on the other lists of the batch.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise.losses import LOSSES, DistillationLoss

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Losses whose call needs more than scores/labels, and how to supply it.
DISTILLATION = {n for n in LOSSES if issubclass(LOSSES[n], DistillationLoss)}
SPECIAL = {"ordinal"} | DISTILLATION
NAMES = sorted(LOSSES)


def call(
    name: str, s: torch.Tensor, y: torch.Tensor, m: torch.Tensor | None, reduction: str = "none"
):
    loss = LOSSES[name](reduction=reduction)
    if name == "ordinal":
        levels = torch.stack([s, 0.5 * s, -s], dim=2)
        return loss(levels, y, m)
    if name in DISTILLATION:
        teacher = torch.sin(3.0 * y) + 0.1 * torch.arange(y.shape[1], dtype=y.dtype)
        return loss(s, y, m, teacher_scores=teacher)
    return loss(s, y, m)


@st.composite
def batches(draw, max_lists: int = 3, max_len: int = 6):
    b = draw(st.integers(1, max_lists))
    length = draw(st.integers(1, max_len))
    values = st.floats(-3, 3, allow_nan=False, width=32)
    s = torch.tensor(
        draw(st.lists(values, min_size=b * length, max_size=b * length)), dtype=torch.float64
    )
    y = torch.tensor(
        draw(st.lists(st.integers(0, 3), min_size=b * length, max_size=b * length)),
        dtype=torch.float64,
    )
    lengths = torch.tensor(draw(st.lists(st.integers(0, length), min_size=b, max_size=b)))
    m = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    return s.reshape(b, length), y.reshape(b, length), m


def value_and_grad(name, s, y, m, reduction="none"):
    t = s.clone().requires_grad_(True)
    v = call(name, t, y, m, reduction)
    (v.sum() if v.dim() else v).backward()
    return v.detach(), t.grad


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(batch=batches())
def test_padding_changes_nothing(name, batch):
    s, y, m = batch
    pad = 3
    s2 = torch.cat([s.masked_fill(~m, 7.0), torch.full((s.shape[0], pad), -1e6, dtype=s.dtype)], 1)
    y2 = torch.cat([y.masked_fill(~m, 3.0), torch.full((s.shape[0], pad), 3.0, dtype=y.dtype)], 1)
    m2 = torch.cat([m, torch.zeros(s.shape[0], pad, dtype=torch.bool)], 1)
    v1, g1 = value_and_grad(name, s, y, m)
    v2, g2 = value_and_grad(name, s2, y2, m2)
    assert torch.allclose(v1, v2, atol=1e-9, rtol=1e-9)
    assert torch.allclose(g1 * m, g2[:, : s.shape[1]] * m, atol=1e-9, rtol=1e-9)
    assert torch.all(g2[~m2] == 0), "masked positions get no gradient"


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(batch=batches())
def test_reductions_and_per_list_calls(name, batch):
    s, y, m = batch
    none = call(name, s, y, m, "none")
    total = call(name, s, y, m, "sum")
    mean = call(name, s, y, m, "mean")
    assert none.shape == (s.shape[0],)
    assert math.isclose(float(none.sum()), float(total), rel_tol=1e-9, abs_tol=1e-9)
    for b in range(s.shape[0]):
        alone = call(name, s[b : b + 1], y[b : b + 1], m[b : b + 1], "none")
        assert math.isclose(float(none[b]), float(alone[0]), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isfinite(float(mean))
    # the mean divides the sum by the number of lists with signal: a whole number between
    # the lists with a non-zero value and all lists with a real item
    if abs(float(mean)) > 1e-12:
        count = float(total) / float(mean)
        assert abs(count - round(count)) < 1e-6
        assert int((none != 0).sum()) <= round(count) <= int(m.any(dim=1).sum())


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(batch=batches(), other=batches())
def test_other_lists_change_nothing(name, batch, other):
    s, y, m = batch
    so, yo, mo = other
    width = max(s.shape[1], so.shape[1])

    def widen(x, fill):
        return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=fill)

    joint = [
        torch.cat([widen(a, f), widen(b, f)])
        for a, b, f in ((s, so, 0.0), (y, yo, 0.0), (m, mo, False))
    ]
    v_alone, g_alone = value_and_grad(name, s, y, m)
    v_joint, g_joint = value_and_grad(name, *joint)
    n = s.shape[0]
    assert torch.allclose(v_alone, v_joint[:n], atol=1e-9, rtol=1e-9)
    assert torch.allclose(g_alone * m, g_joint[:n, : s.shape[1]] * m, atol=1e-9, rtol=1e-9)


DEGENERATE = {
    "all padded": (torch.randn(2, 4), torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool)),
    "all zero labels": (torch.randn(2, 4), torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.bool)),
    "all tied scores": (torch.zeros(2, 4), torch.tensor([[1.0, 0, 2, 0], [3, 3, 0, 1]]), None),
    "single items": (torch.randn(3, 1), torch.tensor([[2.0], [0.0], [1.0]]), None),
    "scores +-1e4": (torch.tensor([[1e4, -1e4, 0.0, 5e3]]), torch.tensor([[0.0, 3, 1, 2]]), None),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_degenerate_inputs_stay_finite_in_float32(name, case, reduction):
    s, y, m = DEGENERATE[case]
    t = s.float().clone().requires_grad_(True)
    v = call(name, t, y.float(), m, reduction)
    (v.sum() if v.dim() else v).backward()
    assert torch.isfinite(v).all(), f"{name} on {case}: {v}"
    assert t.grad is not None and torch.isfinite(t.grad).all(), f"{name} on {case}: grad {t.grad}"
    if case == "all padded":
        assert torch.all(v == 0) and torch.all(t.grad == 0)
