"""Reducing per-list values: one rule for every loss and metric.

- ``"none"``: one value per list, ``[B]``.
- ``"sum"``: the sum over lists (NaN values of skipped lists are left out).
- ``"mean"``: the average over lists that *qualify* (carry signal: a real item, a
  relevant item, an ordered pair, depending on the function); when none qualifies the
  result is a finite 0 that is still connected to the autograd graph, never NaN.
"""

from __future__ import annotations

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
