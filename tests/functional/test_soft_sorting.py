"""Differentiable sorting: limits, stochasticity, masking, and the sorting networks'
defining properties (Petersen et al.: doubly stochastic, exact at high steepness)."""

from __future__ import annotations

import pytest
import torch

from rankwise import functional as sorting

S = torch.tensor([[0.3, -1.2, 2.5, 0.9, -0.1], [1.0, 3.0, -2.0, 0.0, 0.0]], dtype=torch.float64)
M = torch.tensor([[True] * 5, [True, True, True, False, False]])


def hard_permutation(s: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    p = torch.zeros(s.shape[0], s.shape[1], s.shape[1], dtype=s.dtype)
    for b in range(s.shape[0]):
        n = int(m[b].sum())
        order = torch.argsort(s[b, :n], descending=True)
        for r, i in enumerate(order.tolist()):
            p[b, r, i] = 1.0
    return p


@pytest.mark.parametrize(
    "op",
    [
        lambda: sorting.neural_sort(S, M, temperature=1e-3),
        lambda: sorting.soft_sort(S, M, temperature=1e-3),
        lambda: sorting.sorting_network(S, M, network="odd_even", steepness=1e4)[1],
        lambda: sorting.sorting_network(S, M, network="bitonic", steepness=1e4)[1],
    ],
    ids=["neural_sort", "soft_sort", "odd_even", "bitonic"],
)
def test_low_temperature_gives_the_hard_permutation(op):
    assert torch.allclose(op(), hard_permutation(S, M), atol=1e-6)


def test_rows_and_columns():
    p = sorting.neural_sort(S, M, temperature=1.0)
    assert torch.allclose(
        p.sum(dim=2)[M], torch.ones(int(M.sum()), dtype=S.dtype)
    )  # row-stochastic
    assert torch.all(p[1, 3:] == 0) and torch.all(p[1, :, 3:] == 0)  # masked rows/columns
    d = sorting.sinkhorn(p, M, max_iter=500, tol=1e-12)
    assert torch.allclose(d.sum(dim=1)[M], torch.ones(int(M.sum()), dtype=S.dtype), atol=1e-9)
    assert torch.allclose(d.sum(dim=2)[M], torch.ones(int(M.sum()), dtype=S.dtype), atol=1e-9)
    for network in ("odd_even", "bitonic"):
        values, q = sorting.sorting_network(S, M, network=network, steepness=2.0)
        assert torch.allclose(q.sum(dim=1)[M], torch.ones(int(M.sum()), dtype=S.dtype), atol=1e-9)
        assert torch.allclose(q.sum(dim=2)[M], torch.ones(int(M.sum()), dtype=S.dtype), atol=1e-9)
        # soft values are a mixing of the inputs: P @ s
        assert torch.allclose(
            values[M], (q @ S.masked_fill(~M, 0).unsqueeze(2)).squeeze(2)[M], atol=1e-9
        )


def test_sinkhorn_stops_per_list():
    p = sorting.neural_sort(S, M, temperature=1.0)
    alone = sorting.sinkhorn(p[1:], M[1:], tol=1e-6)
    together = sorting.sinkhorn(p, M, tol=1e-6)
    assert torch.equal(alone[0], together[1])


def test_soft_rank():
    exact = torch.tensor(
        [[3.0, 5.0, 1.0, 2.0, 4.0], [2.0, 1.0, 3.0, 0.0, 0.0]], dtype=torch.float64
    )
    for method in ("pairwise", "neural_sort"):
        r = sorting.soft_rank(S, M, temperature=1e-3, method=method)
        assert torch.allclose(r, exact, atol=1e-6), method
    r = sorting.soft_rank(S, M, temperature=10.0)
    assert torch.all(r[M] > 1.0) and torch.all(r[~M] == 0)


def test_stochastic_neural_sort_is_seeded_and_samples():
    def draw(seed):
        return sorting.neural_sort(
            S, M, stochastic=True, n_samples=4, generator=torch.Generator().manual_seed(seed)
        )

    a, b, c = draw(0), draw(0), draw(1)
    assert a.shape == (4, 2, 5, 5)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sorting.neural_sort(S, M, temperature=0.0)
    with pytest.raises(ValueError, match="network must be"):
        sorting.sorting_network(S, M, network="bubble")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stop must be"):
        sorting.sinkhorn(torch.ones(1, 2, 2), stop="never")  # type: ignore[arg-type]
