"""torch.autograd.gradcheck in float64 for every differentiable loss and sorting operator."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from rankwise import functional as sorting
from rankwise.losses import LOSSES
from tests.conformance.test_list_losses import call

# Hinge and relu-based losses have kinks; gradcheck needs points away from them, which
# these distinct, well-separated scores provide.
SCORES = torch.tensor(
    [[0.31, -1.27, 0.83, 2.05, -0.44], [1.12, 0.07, -0.66, 0.0, 0.0]], dtype=torch.float64
)
LABELS = torch.tensor([[1.0, 0.0, 2.0, 3.0, 1.0], [0.0, 2.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
MASK = torch.tensor([[True] * 5, [True, True, True, False, False]])


@pytest.mark.parametrize("name", sorted(set(LOSSES) - {"sl_at_k"}))
def test_loss_gradcheck(name):
    s = SCORES.clone().requires_grad_(True)
    assert gradcheck(lambda t: call(name, t, LABELS, MASK, "mean"), (s,), eps=1e-6, atol=1e-5)


def test_sl_at_k_gradient_treats_the_quantile_as_a_constant():
    """SL@K's top-K quantile beta is computed without gradient (as in the paper): the
    gradient is exact for every score except the one that *is* beta, whose finite
    difference also moves beta."""
    from rankwise.functional import sl_at_k_loss

    k = 2
    s = SCORES.clone().requires_grad_(True)
    sl_at_k_loss(s, LABELS, mask=MASK, k=k).backward()
    h = 1e-6
    kth = SCORES.masked_fill(~MASK, float("-inf")).topk(k, dim=1).indices[:, -1]
    for b, i in ((b, i) for b in range(2) for i in range(5)):
        if not MASK[b, i] or i == int(kth[b]):
            continue
        e = torch.zeros_like(SCORES)
        e[b, i] = h
        numeric = (
            sl_at_k_loss(SCORES + e, LABELS, mask=MASK, k=k)
            - sl_at_k_loss(SCORES - e, LABELS, mask=MASK, k=k)
        ) / (2 * h)
        assert torch.isclose(s.grad[b, i], numeric, atol=1e-6), (b, i)


@pytest.mark.parametrize(
    "op",
    [
        lambda t: sorting.neural_sort(t, MASK, temperature=0.7),
        lambda t: sorting.soft_sort(t, MASK, temperature=0.7),
        lambda t: sorting.sinkhorn(
            torch.exp(t.unsqueeze(2) * t.unsqueeze(1)), MASK, max_iter=20, tol=0.0
        ),
        lambda t: sorting.sorting_network(t, MASK, network="odd_even", steepness=3.0)[1],
        lambda t: sorting.sorting_network(t, MASK, network="bitonic", steepness=3.0)[0],
        lambda t: sorting.soft_rank(t, MASK, temperature=0.5),
        lambda t: sorting.soft_rank(t, MASK, temperature=0.5, method="neural_sort"),
    ],
    ids=[
        "neural_sort",
        "soft_sort",
        "sinkhorn",
        "odd_even",
        "bitonic",
        "soft_rank",
        "soft_rank_ns",
    ],
)
def test_sorting_gradcheck(op):
    s = SCORES.clone().requires_grad_(True)
    assert gradcheck(op, (s,), eps=1e-6, atol=1e-5)
