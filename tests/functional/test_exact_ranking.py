"""NDCG@k with ties="stable" ranks by top-k selection on packed int64 keys instead of a
full sort (rankwise.functional._exact_ranking). It must equal a brute-force stable ranking for
every score pattern: heavy ties, negative scores, -0.0 against 0.0, padding, huge values,
real -inf scores (which take the full-sort path), float64 (also the full sort)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rankwise.functional import ndcg
from rankwise.functional._exact_ranking import _stable_top_keys, rank_lists
from rankwise.metrics import evaluate


def brute_ndcg(scores: np.ndarray, labels: np.ndarray, mask: np.ndarray, k: int) -> float:
    """Stable order by plain Python sorting; exp2 gain; 0 for lists without relevance."""
    items = [i for i in range(len(scores)) if mask[i]]
    ranked = sorted(items, key=lambda i: -scores[i])  # Python's sort is stable
    gains = [2.0 ** labels[i] - 1 for i in ranked[:k]]
    dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
    ideal = sorted((2.0 ** labels[i] - 1 for i in items), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def batch(seed: int, dtype: torch.dtype = torch.float32):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    b, length = 64, 30
    scores = rng.choice([-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3e38, -3e38], size=(b, length))
    scores = np.where(rng.random((b, length)) < 0.3, rng.normal(size=(b, length)), scores)
    labels = rng.integers(0, 4, size=(b, length)).astype(float)
    mask = rng.random((b, length)) < 0.8
    mask[0] = False  # an empty list
    mask[1, 3:] = False  # shorter than k
    return (
        torch.tensor(scores, dtype=dtype),
        torch.tensor(labels, dtype=dtype),
        torch.tensor(mask),
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10, 29])
def test_topk_path_equals_brute_force_stable_ranking(seed: int, k: int) -> None:
    s, y, m = batch(seed)
    got = ndcg(s, y, mask=m, k=k, ties="stable", reduction="none")
    s_np, y_np, m_np = s.double().numpy(), y.double().numpy(), m.numpy()
    for i in range(s.shape[0]):
        assert float(got[i]) == pytest.approx(brute_ndcg(s_np[i], y_np[i], m_np[i], k), abs=1e-6)


def test_topk_path_is_taken_and_equals_the_full_sort() -> None:
    s, y, m = batch(7)
    top = rank_lists(s, y, m, "stable", depth=5)
    full = rank_lists(s, y, m, "stable")
    assert top.labels.shape[1] == 5  # the selection path ran
    torch.testing.assert_close(top.order, full.order[:, :5])
    torch.testing.assert_close(top.ideal(), full.ideal()[:, :5])
    # evaluate shares one depth-10 selection between ndcg@1..10, and the full sort once MAP
    # joins; the values agree
    alone = evaluate(s, y, ["ndcg@3[ties=stable]", "ndcg@10[ties=stable]"], mask=m)
    mixed = evaluate(
        s, y, ["ndcg@3[ties=stable]", "ndcg@10[ties=stable]", "map[ties=stable]"], mask=m
    )
    for key, value in alone.items():
        torch.testing.assert_close(value, mixed[key])


def test_real_minus_infinity_and_float64_take_the_full_sort() -> None:
    s, y, m = batch(3)
    s[2, 0] = float("-inf")  # a real item at -inf still ranks above padding
    assert rank_lists(s, y, m, "stable", depth=5).labels.shape[1] == s.shape[1]
    s64, y64, m64 = batch(3, torch.float64)
    assert rank_lists(s64, y64, m64, "stable", depth=5).labels.shape[1] == s64.shape[1]
    np.testing.assert_allclose(
        ndcg(s64, y64, mask=m64, k=5, ties="stable", reduction="none").numpy(),
        ndcg(s64.float(), y64.float(), mask=m64, k=5, ties="stable", reduction="none").numpy(),
        atol=1e-6,
    )


def test_packed_keys_order_like_the_floats() -> None:
    values = torch.tensor(
        [[-float("inf"), -3e38, -1.0, -1e-40, -0.0, 0.0, 1e-40, 1.0, 3e38, float("inf")]]
    )
    keys = _stable_top_keys(values)
    # equal floats (-0.0 and 0.0) order by position: the earlier one gets the larger key
    assert keys[0, 4] > keys[0, 5]
    high = keys >> 32
    assert (high[0, 1:] >= high[0, :-1]).all()
    assert high[0, 4] == high[0, 5]
    assert (torch.diff(high[0, [0, 1, 2, 3, 5, 6, 7, 8, 9]]) > 0).all()
