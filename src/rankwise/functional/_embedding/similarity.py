"""Similarities between embeddings, label-pair masks and the reduction of embedding losses.

Every embedding loss in rankwise works on a *closeness* matrix: larger is closer. For a
similarity (``similarity="cosine"`` or ``"dot"``) that is the similarity itself; for a
distance (``"euclidean"``, ``"squared_euclidean"``) it is the negative distance. Losses
whose definition is written with distances (triplet, contrastive) read ``-closeness``.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from rankwise.functional._checks import Reduction, check_reduction
from rankwise.functional._reduction import reduce_lists

Similarity = Literal["cosine", "dot", "euclidean", "squared_euclidean"]
SIMILARITIES = get_args(Similarity)


def is_distance(similarity: Similarity) -> bool:
    """Whether ``similarity`` is a distance (smaller = closer)."""
    return similarity in ("euclidean", "squared_euclidean")


def closeness(
    x: Tensor, y: Tensor | None = None, *, similarity: Similarity = "cosine", normalize: bool = True
) -> Tensor:
    """Pairwise closeness [N, M] of rows of ``x`` [N, D] and ``y`` [M, D] (``y`` = ``x`` if None).

    ``similarity``: ``cosine`` is the dot product of L2-normalized rows (``x / max(||x||, 1e-12)``);
    ``dot`` the plain dot product; ``euclidean`` and ``squared_euclidean`` are returned
    negated so that larger is always closer. ``normalize`` L2-normalizes the rows first
    for the other similarities (pytorch-metric-learning's ``LpDistance`` does so by
    default). Euclidean distances come from :func:`torch.cdist`, whose gradient at a zero
    distance is 0 rather than NaN.

    Example:
        >>> closeness(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))  # cosine
        tensor([[1., 0.],
                [0., 1.]])
    """
    if similarity not in SIMILARITIES:
        raise ValueError(
            f"closeness: similarity must be one of {list(SIMILARITIES)}, got {similarity!r}"
        )
    if normalize or similarity == "cosine":
        x = F.normalize(x, dim=-1, eps=1e-12)
        y = x if y is None else F.normalize(y, dim=-1, eps=1e-12)
    elif y is None:
        y = x
    if similarity in ("cosine", "dot"):
        return x @ y.T
    dist = torch.cdist(x, y)
    return -(dist if similarity == "euclidean" else dist.square())


def label_masks(labels: Tensor, ref_labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Positive and negative pair masks [N, M] from class labels.

    Positive: same label; negative: different labels. When ``ref_labels`` is None the
    reference set is the batch itself and the diagonal (an item with itself) is in
    neither mask.

    Example:
        >>> positive, negative = label_masks(torch.tensor([0, 0, 1]))
        >>> positive.int(), negative.int()
        (tensor([[0, 1, 0],
                [1, 0, 0],
                [0, 0, 0]], dtype=torch.int32), tensor([[0, 0, 1],
                [0, 0, 1],
                [1, 1, 0]], dtype=torch.int32))
    """
    ref = labels if ref_labels is None else ref_labels
    same = labels.unsqueeze(1) == ref.unsqueeze(0)
    if ref_labels is None:
        same.fill_diagonal_(False)
        diff = ~same
        diff.fill_diagonal_(False)
        return same, diff
    return same, ~same


def reduce_elements(values: Tensor, reduction: Reduction, *, over: str = "all") -> Tensor:
    """Reduce a vector of loss elements (per anchor, pair or triplet) by the library's rule
    (:func:`~rankwise.functional._reduction.reduce_lists`): ``"none"`` gives the elements,
    ``"sum"`` their sum, ``"mean"`` their mean over the elements that carry signal, which
    each loss states: ``over="all"`` (every element) or ``over="nonzero"`` (the elements
    > 0: a triplet that violates its margin, a pair inside its margin; the convention of
    pytorch-metric-learning's ``AvgNonZeroReducer``). With no such element the mean is a
    finite 0 connected to the graph."""
    check_reduction(reduction, "reduce_elements")
    if over not in ("all", "nonzero"):
        raise ValueError(f"reduce_elements: over must be 'all' or 'nonzero', got {over!r}")
    qualifies = values > 0 if over == "nonzero" else torch.ones_like(values, dtype=torch.bool)
    return reduce_lists(values, qualifies, reduction, zeroed=True)


def masked_logsumexp(x: Tensor, mask: Tensor, dim: int = -1, add_one: bool = False) -> Tensor:
    """``log(sum_{mask} exp(x))`` along ``dim`` (``log(1 + ...)`` with ``add_one``).

    Rows with no selected entry give ``-inf`` (0 with ``add_one``); their gradient is 0.
    """
    filled = x.masked_fill(~mask, float("-inf"))
    if add_one:
        zeros = torch.zeros_like(filled.narrow(dim, 0, 1))
        filled = torch.cat([filled, zeros], dim=dim)
    # A row that is all -inf would give NaN gradients; give it a finite stand-in and
    # restore -inf afterwards.
    empty = torch.isneginf(filled).all(dim=dim, keepdim=True)
    safe = filled.masked_fill(empty, 0.0)
    out = torch.logsumexp(safe, dim=dim, keepdim=True)
    out = out.masked_fill(empty, float("-inf"))
    return out.squeeze(dim)
