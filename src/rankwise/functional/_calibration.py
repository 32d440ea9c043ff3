r"""Calibration of scores that are meant to be probabilities (RCR models, CTR models).

Inputs: ``probs`` [B, L] (or any shape) in [0, 1] — or logits with ``from_logits=True``
— and ``labels`` of the same shape: binary or soft targets in [0, 1], or graded labels
binarised with ``threshold`` (relevant when ``label >= threshold``). ``mask`` selects the
real items. These are item-level measures: the mean is over all real items of the
batch, not over lists.

- :func:`log_loss`: :math:`-\left[y \log p + (1-y)\log(1-p)\right]`, with p clipped to
  [eps, 1-eps] (computed from logits without clipping when ``from_logits``).
- :func:`brier_score`: :math:`(p - y)^2`.
- :func:`expected_calibration_error`: :math:`\sum_b \frac{n_b}{N} |\bar y_b - \bar p_b|` over
  ``n_bins`` bins of p (equal width, or equal mass with ``strategy="quantile"``), Naeini
  et al. 2015.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as nnf

from rankwise.functional._checks import Reduction, check_reduction, numpy_compatible


def _prepare(
    probs: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    threshold: float | None,
    from_logits: bool,
    name: str,
) -> tuple[Tensor, Tensor]:
    if probs.shape != labels.shape:
        raise ValueError(
            f"{name}: probs {tuple(probs.shape)} and labels {tuple(labels.shape)} differ"
        )
    p = probs.to(torch.float64)
    y = labels.to(device=p.device, dtype=torch.float64)
    if mask is not None:
        if mask.shape != probs.shape:
            raise ValueError(f"{name}: mask shape {tuple(mask.shape)} differs from probs")
        p, y = p[mask], y[mask]
    else:
        p, y = p.reshape(-1), y.reshape(-1)
    if threshold is not None:
        y = (y >= threshold).to(torch.float64)
    elif ((y < 0) | (y > 1)).any():
        raise ValueError(f"{name}: labels must lie in [0, 1] (or pass threshold= to binarise)")
    if not from_logits and ((p < 0) | (p > 1) | torch.isnan(p)).any():
        raise ValueError(f"{name}: probs must lie in [0, 1] (pass from_logits=True for logits)")
    return p, y


def _reduce_items(values: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean() if values.numel() else values.sum()


@numpy_compatible
def log_loss(
    probs: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    eps: float = 1e-7,
    reduction: Reduction = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities (or logits) against targets in [0, 1].

    Example:
        >>> round(float(log_loss(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0]))), 4)  # log 2
        0.6931
    """
    check_reduction(reduction, "log_loss")
    p, y = _prepare(probs, labels, mask, threshold, from_logits, "log_loss")
    if from_logits:
        values = nnf.binary_cross_entropy_with_logits(p, y, reduction="none")
    else:
        q = p.clamp(eps, 1.0 - eps)
        values = -(y * torch.log(q) + (1.0 - y) * torch.log1p(-q))
    return _reduce_items(values, reduction)


@numpy_compatible
def brier_score(
    probs: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    reduction: Reduction = "mean",
) -> Tensor:
    """Mean squared difference between probability and target (Brier 1950).

    Example:
        >>> brier_score(torch.tensor([0.8, 0.4]), torch.tensor([1.0, 0.0]))  # (0.04 + 0.16) / 2
        tensor(0.1000, dtype=torch.float64)
    """
    check_reduction(reduction, "brier_score")
    p, y = _prepare(probs, labels, mask, threshold, from_logits, "brier_score")
    if from_logits:
        p = torch.sigmoid(p)
    return _reduce_items((p - y) ** 2, reduction)


@numpy_compatible
def expected_calibration_error(
    probs: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    n_bins: int = 15,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> Tensor:
    """Expected calibration error over ``n_bins`` bins of the predicted probability.

    ``"uniform"``: bins of equal width on [0, 1] (the last bin includes 1);
    ``"quantile"``: bins holding equal numbers of items. Empty bins contribute nothing.
    Returns a scalar (0 for no items).

    Example:
        >>> # every prediction 0.5 and half of the labels 1: perfectly calibrated
        >>> expected_calibration_error(torch.full((4,), 0.5), torch.tensor([1.0, 0.0, 1.0, 0.0]))
        tensor(0., dtype=torch.float64)
    """
    if n_bins < 1:
        raise ValueError(f"expected_calibration_error: n_bins must be >= 1, got {n_bins}")
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"expected_calibration_error: unknown strategy {strategy!r}")
    p, y = _prepare(probs, labels, mask, threshold, from_logits, "expected_calibration_error")
    if from_logits:
        p = torch.sigmoid(p)
    n = p.numel()
    if n == 0:
        return p.new_zeros(())
    if strategy == "uniform":
        bins = torch.clamp((p * n_bins).long(), max=n_bins - 1)
    else:
        order = torch.argsort(p, stable=True)
        bins = torch.empty_like(order)
        bins[order] = torch.div(torch.arange(n, device=p.device) * n_bins, n, rounding_mode="floor")
    count = torch.zeros(n_bins, dtype=p.dtype, device=p.device).index_add_(
        0, bins, torch.ones_like(p)
    )
    conf = torch.zeros_like(count).index_add_(0, bins, p)
    acc = torch.zeros_like(count).index_add_(0, bins, y)
    return ((acc - conf).abs()).sum() / n
