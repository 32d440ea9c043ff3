"""Blocked retrieval metrics against a brute-force reference, and the rank diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rankwise.metrics import effective_rank, retrieval_metrics, stable_rank


def _brute_force(q, ql, g, gl, ks, same_set):
    sims = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        g / np.linalg.norm(g, axis=1, keepdims=True)
    ).T
    out = {f"hits@{k}": [] for k in ks} | {f"precision@{k}": [] for k in ks}
    out |= {"r_precision": [], "map@r": []}
    for i in range(len(q)):
        order = [
            j
            for j in sorted(range(len(g)), key=lambda j: (-sims[i, j], j))
            if not (same_set and j == i)
        ]
        rel = [gl[j] == ql[i] for j in order]
        r = sum(rel)
        if r == 0:
            continue
        for k in ks:
            out[f"hits@{k}"].append(float(any(rel[:k])))
            out[f"precision@{k}"].append(sum(rel[:k]) / k)
        out["r_precision"].append(sum(rel[:r]) / r)
        hits, ap = 0, 0.0
        for pos, is_rel in enumerate(rel[:r], start=1):
            if is_rel:
                hits += 1
                ap += hits / pos
        out["map@r"].append(ap / r)
    return {key: float(np.mean(v)) for key, v in out.items()}


@pytest.mark.parametrize("block_size", [1, 7, None])
def test_blocked_metrics_equal_brute_force_within_one_set(block_size):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    x[5] = x[9]  # an exact tie in closeness: broken by the lower gallery index
    y = rng.integers(0, 4, size=40)
    y[-1] = 99  # a singleton class: no relevant item, left out and counted
    got = retrieval_metrics(
        torch.tensor(x), torch.tensor(y), ks=(1, 3, 10), block_size=block_size, ties="stable"
    )
    want = _brute_force(x, y, x, y, (1, 3, 10), same_set=True)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    assert got["queries_without_relevant"] == 1 and got["queries"] == 39


def test_query_set_against_separate_gallery():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(15, 4)), rng.normal(size=(30, 4))
    ql, gl = rng.integers(0, 3, size=15), rng.integers(0, 3, size=30)
    got = retrieval_metrics(
        torch.tensor(q),
        torch.tensor(ql),
        torch.tensor(g),
        torch.tensor(gl),
        ks=(1, 5),
        block_size=4,
        ties="stable",
    )
    want = _brute_force(q, ql, g, gl, (1, 5), same_set=False)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_perfect_embedding_scores_one():
    y = torch.arange(30) % 3
    x = torch.nn.functional.one_hot(y, 3).double() + 1e-3 * torch.randn(30, 3, dtype=torch.float64)
    got = retrieval_metrics(x, y, ks=(1, 5))
    assert got["hits@1"] == got["map@r"] == got["r_precision"] == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="gallery_labels"):
        retrieval_metrics(torch.randn(3, 2), torch.tensor([0, 1, 0]), torch.randn(4, 2))
    with pytest.raises(ValueError, match="ks"):
        retrieval_metrics(torch.randn(3, 2), torch.tensor([0, 1, 0]), ks=(0,))


def test_effective_and_stable_rank_closed_forms():
    # Singular values 2, 2, 0: effective rank 2 (up to eps), stable rank (4 + 4) / 4 = 2.
    z = torch.zeros(5, 3, dtype=torch.float64)
    z[0, 0], z[1, 1] = 2.0, 2.0
    assert effective_rank(z) == pytest.approx(2.0, rel=1e-5)
    assert stable_rank(z) == pytest.approx(2.0)
    # Rank one: both are 1.
    line = torch.outer(torch.arange(1.0, 6.0), torch.tensor([1.0, 2.0, 3.0]))
    assert effective_rank(line) == pytest.approx(1.0, rel=1e-5)
    assert stable_rank(line) == pytest.approx(1.0)
    assert effective_rank(torch.eye(4)) == pytest.approx(4.0, rel=1e-5)


def test_average_ties_are_the_mean_over_both_orders_of_a_tie():
    """The library's tie convention: with two gallery items at exactly the same closeness,
    every value is the mean of the two orders (computed here by swapping their indices)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 3))
    x[7] = x[3]  # items 3 and 7 tie for every query
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    y[7] = 5  # of different classes: the order of the tie matters
    y[[2, 9]] = 5
    swap = np.arange(12)
    swap[[3, 7]] = [7, 3]
    stable = _brute_force(x, y, x, y, (1, 2, 5), same_set=True)
    swapped = _brute_force(x[swap], y[swap], x[swap], y[swap], (1, 2, 5), same_set=True)
    got = retrieval_metrics(torch.tensor(x), torch.tensor(y), ks=(1, 2, 5))
    assert got == retrieval_metrics(torch.tensor(x), torch.tensor(y), ks=(1, 2, 5), ties="average")
    differs = False
    for key in stable:
        assert got[key] == pytest.approx((stable[key] + swapped[key]) / 2, abs=1e-12), key
        differs |= abs(stable[key] - swapped[key]) > 1e-9
    assert differs, "the tie must matter for this check to mean anything"
