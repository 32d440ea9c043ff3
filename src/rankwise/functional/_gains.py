r"""Gains, discounts and the ideal DCG: the one home of the DCG family's formulas.

Used by the metrics (DCG, NDCG and their smooth forms from ranks), the lambda weights of
the pairwise losses, NeuralNDCG and ApproxNDCG, and the exposure of the fairness
measures, so that every NDCG in rankwise is the same NDCG.

- gain: ``"exp2"`` :math:`2^{y} - 1` (LightGBM, allRank, TF-Ranking, Rax), ``"linear"``
  :math:`y` (trec_eval, ranx ``ndcg``, scikit-learn) or a callable on the label tensor;
- discount of a 1-based rank r: :math:`1 / \log_2(1 + r)` (Järvelin & Kekäläinen 2002);
  ranks may be real numbers (smooth ranks);
- ideal DCG@k: the DCG@k of the labels sorted in decreasing order; masked items count as
  0, ``k=None`` or a ``k`` beyond the list means the whole list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._exact_ranking import ideal_labels

Gain = Literal["exp2", "linear"] | Callable[[Tensor], Tensor]


def apply_gain(labels: Tensor, gain: Gain) -> Tensor:
    """``2^y - 1`` for ``"exp2"``, ``y`` for ``"linear"``, or ``gain(labels)``.

    Example:
        >>> apply_gain(torch.tensor([0.0, 1.0, 2.0]), "exp2")
        tensor([0., 1., 3.])
    """
    if gain == "exp2":
        out = torch.exp2(labels) - 1.0
        # 2^y overflows at y >= 128 in float32 (1024 in float64): every DCG would be
        # inf/inf, a NaN that a mean would hide. Say so instead.
        if out.numel() and not bool(torch.isfinite(out.max())):
            top = float(labels.max())
            limit = 1024 if labels.dtype == torch.float64 else 128
            raise ValueError(
                f"gain='exp2': a label of {top:g} makes 2^label - 1 overflow {labels.dtype} "
                f"(labels must be < {limit}); use gain='linear' for such labels"
                + (" or float64 inputs" if labels.dtype != torch.float64 else "")
            )
        return out
    if gain == "linear":
        return labels
    if callable(gain):
        out = gain(labels)
        if not isinstance(out, Tensor) or out.shape != labels.shape:
            raise ValueError("a gain callable must map the label tensor to a tensor of its shape")
        return out
    raise ValueError(f"gain must be 'exp2', 'linear' or a callable, got {gain!r}")


def discount(ranks: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``1 / log2(1 + rank)`` for 1-based ``ranks`` (integers or real, smooth ranks),
    computed in ``dtype`` (default: the ranks' own floating dtype).

    Example:
        >>> discount(torch.tensor([1.0, 3.0]))
        tensor([1.0000, 0.5000])
    """
    r = ranks.to(dtype) if dtype is not None else ranks
    if not r.is_floating_point():
        r = r.to(torch.get_default_dtype())
    return 1.0 / torch.log2(1.0 + r)


def discounts(length: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """[length] discounts of ranks 1..length."""
    return discount(torch.arange(1, length + 1, dtype=dtype, device=device))


def ideal_dcg_of_sorted(sorted_labels: Tensor, k: int | None, gain: Gain) -> Tensor:
    """[B] DCG@k of labels already sorted in decreasing order (masked items as 0)."""
    best = apply_gain(sorted_labels, gain)
    cols = best.shape[1] if k is None else min(k, best.shape[1])
    return (best[:, :cols] * discounts(cols, best.dtype, best.device)).sum(dim=1)


def ideal_dcg(labels: Tensor, mask: Tensor, k: int | None, gain: Gain) -> Tensor:
    """[B] ideal DCG@k of ``labels`` [B, L] over the real items (``mask`` [B, L]).

    Example:
        >>> labels = torch.tensor([[0.0, 1.0, 1.0]])
        >>> ideal_dcg(labels, torch.ones(1, 3, dtype=torch.bool), 2, "linear")
        tensor([1.6309])
    """
    return ideal_dcg_of_sorted(ideal_labels(labels, mask), k, gain)
