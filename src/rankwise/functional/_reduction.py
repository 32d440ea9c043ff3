"""Reducing per-list values: one rule for every loss and metric.

- ``"none"``: one value per list, ``[B]``.
- ``"sum"``: the sum over lists (NaN values of skipped lists are left out).
- ``"mean"``: the average over lists that *qualify* (carry signal: a real item, a
  relevant item, an ordered pair, depending on the function); when none qualifies the
  result is a finite 0 that is still connected to the autograd graph, never NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rankwise.functional._checks import Reduction


def reduce_lists(
    values: Tensor, qualifies: Tensor, reduction: Reduction, *, zeroed: bool = False
) -> Tensor:
    """Reduce ``values`` [B] over lists; ``qualifies`` [B] bool selects the lists of the mean.

    Values of lists that do not qualify must already be 0 (or NaN for metrics with
    ``empty="skip"``); they are excluded from the mean and, being 0/NaN, add nothing
    to the sum. ``zeroed=True`` promises they are exactly 0 (never NaN), as every loss
    guarantees, and skips the clean-up.
    """
    if reduction == "none":
        return values
    clean = values if zeroed else values.nan_to_num(nan=0.0)
    if reduction == "sum":
        return clean.sum()
    # an integer count: dividing a float by it gives the float's dtype
    count = qualifies.sum().clamp_(min=1)
    # Zeroing by a multiplication (rather than indexing) keeps the graph connected when
    # no list qualifies: the result is then a finite 0 with a gradient of 0.
    total = clean.sum() if zeroed else (clean * qualifies.to(clean.dtype)).sum()
    return total / count


def reduction_coefficients(
    qualifies: Tensor, list_weights: Tensor | None, reduction: Reduction, dtype: torch.dtype
) -> Tensor:
    """[B] coefficients c of the reduction rule as a linear map of zeroed per-list values
    v: ``reduce_lists(v * list_weights, qualifies, reduction, zeroed=True)`` equals
    ``(c * v).sum()`` for ``"sum"`` and ``"mean"`` and ``c * v`` for ``"none"``. c is
    ``qualifies * list_weights``, divided by the number of qualifying lists (at least 1)
    for the mean. A fused loss that returns its reduced value itself (one autograd node
    instead of a zeroing, a weighting, a sum and a division, whose overhead is most of a
    short loss's time) weights its per-list values by c in the forward and in the
    backward pass, and so follows the one rule.

    Example:
        >>> q = torch.tensor([True, False, True])
        >>> reduction_coefficients(q, None, "mean", torch.float32)
        tensor([0.5000, 0.0000, 0.5000])
    """
    c = qualifies.to(dtype)
    if list_weights is not None:
        c = c * list_weights
    if reduction == "mean":
        c = c / qualifies.sum().clamp_(min=1)
    return c
