"""Similarities between embeddings, label-pair masks and the reductions of embedding losses.

Every embedding loss in rankwise works on a *closeness* matrix: larger is closer. For a
similarity metric (``"cosine"``, ``"dot"``) that is the similarity itself; for a distance
metric (``"euclidean"``, ``"squared_euclidean"``) it is the negative distance. Losses
whose definition is written with distances (triplet, contrastive) read ``-closeness``.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

Metric = Literal["cosine", "dot", "euclidean", "squared_euclidean"]
EmbeddingReduction = Literal["mean", "mean_nonzero", "sum", "none"]
_METRICS = get_args(Metric)
_REDUCTIONS = get_args(EmbeddingReduction)


def is_distance(metric: Metric) -> bool:
    """Whether ``metric`` is a distance (smaller = closer)."""
    return metric in ("euclidean", "squared_euclidean")


def check_embeddings(embeddings: Tensor, name: str, what: str = "embeddings") -> None:
    """Raise a ``ValueError`` naming the function unless ``embeddings`` is a float [N, D]."""
    if embeddings.dim() != 2:
        raise ValueError(f"{name}: {what} must be [N, D], got shape {tuple(embeddings.shape)}")
    if not embeddings.is_floating_point():
        raise ValueError(f"{name}: {what} must be floating point, got {embeddings.dtype}")


def check_labels(labels: Tensor, n: int, name: str, what: str = "labels") -> None:
    """Raise unless ``labels`` is an integer vector of length ``n``."""
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(f"{name}: {what} must be [N] with N={n}, got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name}: {what} must hold integer class ids, got {labels.dtype}")


def check_reduction(reduction: str, name: str) -> None:
    """Raise unless ``reduction`` is one of mean, mean_nonzero, sum, none."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {list(_REDUCTIONS)}, got {reduction!r}")


def closeness(
    x: Tensor, y: Tensor | None = None, *, metric: Metric = "cosine", normalize: bool = True
) -> Tensor:
    """Pairwise closeness [N, M] of rows of ``x`` [N, D] and ``y`` [M, D] (``y`` = ``x`` if None).

    ``cosine`` is the dot product of L2-normalised rows (``x / max(||x||, 1e-12)``);
    ``dot`` the plain dot product; ``euclidean`` and ``squared_euclidean`` are returned
    negated so that larger is always closer. ``normalize`` L2-normalises the rows first
    for the non-cosine metrics (pytorch-metric-learning's ``LpDistance`` does so by
    default). Euclidean distances come from :func:`torch.cdist`, whose gradient at a zero
    distance is 0 rather than NaN.
    """
    if metric not in _METRICS:
        raise ValueError(f"closeness: metric must be one of {list(_METRICS)}, got {metric!r}")
    if normalize or metric == "cosine":
        x = F.normalize(x, dim=-1, eps=1e-12)
        y = x if y is None else F.normalize(y, dim=-1, eps=1e-12)
    elif y is None:
        y = x
    if metric in ("cosine", "dot"):
        return x @ y.T
    dist = torch.cdist(x, y)
    return -(dist if metric == "euclidean" else dist.square())


def label_masks(labels: Tensor, ref_labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Positive and negative pair masks [N, M] from class labels.

    Positive: same label; negative: different labels. When ``ref_labels`` is None the
    reference set is the batch itself and the diagonal (an item with itself) is in
    neither mask.
    """
    ref = labels if ref_labels is None else ref_labels
    same = labels.unsqueeze(1) == ref.unsqueeze(0)
    if ref_labels is None:
        same.fill_diagonal_(False)
        diff = ~same
        diff.fill_diagonal_(False)
        return same, diff
    return same, ~same


def reduce_elements(values: Tensor, reduction: EmbeddingReduction) -> Tensor:
    """Reduce a vector of loss elements (per anchor, pair or triplet).

    ``mean``: mean over the elements; ``mean_nonzero``: mean over the elements > 0
    (pytorch-metric-learning's ``AvgNonZeroReducer``: easy triplets and satisfied pairs do
    not dilute the loss); ``sum``; ``none`` returns ``values``. With no element (or no
    non-zero element) the mean is 0, connected to the graph so ``backward`` works.
    """
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_nonzero":
        count = (values > 0).sum()
    else:
        count = torch.tensor(values.numel(), device=values.device)
    return values.sum() / count.clamp(min=1).to(values.dtype)


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
