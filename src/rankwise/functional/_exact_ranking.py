"""Ranking lists by score, with explicit tie handling, for the rank-based metrics.

:func:`rank_lists` sorts every list of a batch once and describes the result as
*tie groups*: for the item at ranked position ``q`` (0-based), ``group_start[q]`` and
``group_end[q]`` (exclusive) are the positions its tie group occupies.

- ``ties="average"``: a group is a maximal run of equal scores. Every metric computes
  its exact expected value over uniformly random orderings within each group, in closed
  form (the positions of a group's items are exchangeable), never by sampling or
  enumerating permutations.
- ``"stable"``: equal scores keep their input order (earlier item ranks first);
  ``"pessimistic"``: among equal scores, lower labels rank first (relevant items last);
  ``"optimistic"``: higher labels first. For these three every item is its own group,
  so the same formulas give the value of that one ordering.

Masked items always come after every real item, also when a real item scores ``-inf``.

``depth``: metrics that only read the first ``k`` ranked positions and the ideal top
``k`` (NDCG@k) can ask for a ranking of depth ``k``. With ``ties="stable"`` and float32
scores this is a top-k selection instead of a full sort: each score and its position are
packed into one int64 key that orders like (score descending, position ascending), so the
selection is exactly the stable order's first ``k`` (see :func:`_stable_top_keys`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

Ties = Literal["average", "pessimistic", "optimistic", "stable"]
TIES = ("average", "pessimistic", "optimistic", "stable")


@dataclass
class RankedLists:
    """A batch of lists in ranked order (see the module docstring)."""

    labels: Tensor  # [B, L] labels in ranked order, 0 at masked positions
    valid: Tensor  # [B, L] bool; the first n_valid positions of each row
    group_start: Tensor  # [B, L] int64
    group_end: Tensor  # [B, L] int64 (exclusive)
    n_valid: Tensor  # [B] int64
    order: Tensor  # [B, L] int64: input index of the item at each ranked position
    singleton_groups: bool  # True unless ties == "average"
    _ideal: Tensor | None = field(default=None, repr=False)
    _cache: dict[str, Tensor] = field(default_factory=dict, repr=False)

    def columns_for_cutoff(self, k: int | None) -> int:
        """How many ranked positions can matter for a cut-off k.

        Positions from k on never count, except inside a tie group that straddles k
        (with ``ties="average"`` its items may land above k): up to the end of that group.
        """
        length = self.labels.shape[1]
        if k is None or k >= length:
            return length
        if self.singleton_groups:
            return k
        return int(self.group_end[:, k - 1].max())

    def ideal(self) -> Tensor:
        """The lists' labels in decreasing order (the ideal ranking), computed once.

        Several metrics of one :func:`rankwise.metrics.evaluate` call share it.
        """
        if self._ideal is None:
            self._ideal = self.labels.sort(dim=1, descending=True).values
        return self._ideal

    @property
    def shape(self) -> torch.Size:
        """[B, L] (L may be a ranking depth shorter than the lists)."""
        return self.labels.shape

    def positions(self) -> Tensor:
        """[L] int64 ranked positions 0..L-1."""
        return torch.arange(self.labels.shape[1], device=self.labels.device)

    def prefix_sum(self, values: Tensor) -> Tensor:
        """[B, L+1] cumulative sums of ``values`` [B, L] (ranked order) with a leading 0."""
        out = values.new_zeros(values.shape[0], values.shape[1] + 1)
        torch.cumsum(values, dim=1, out=out[:, 1:])
        return out


def _stable_argsort(key: Tensor, descending: bool) -> Tensor:
    return torch.sort(key, dim=1, descending=descending, stable=True).indices


def _stable_top_keys(key: Tensor) -> Tensor:
    """int64 keys [B, L] whose descending order is (``key`` descending, position ascending).

    ``key`` is float32 without NaN. Its IEEE-754 bits, read as int32 with the magnitude
    bits of negative numbers flipped, order like the floats (``-0.0`` is folded into
    ``+0.0`` first so the two tie, as they compare equal); the high 32 bits hold that, the
    low 32 bits ``L - 1 - position``, so equal scores rank by position.
    """
    bits = (key + 0.0).view(torch.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    length = key.shape[1]
    tiebreak = torch.arange(length - 1, -1, -1, device=key.device, dtype=torch.int32)
    if sys.byteorder == "little":
        # one interleaving copy instead of widen + shift + or: the int64 read of each
        # (low word, high word) pair is high * 2^32 + low
        pair = torch.stack([tiebreak.expand_as(ordered), ordered], dim=-1)
        return pair.view(torch.int64).squeeze(-1)
    return (ordered.to(torch.int64) << 32) | tiebreak.to(torch.int64)


def _rank_stable_top(labels: Tensor, mask: Tensor, key: Tensor, depth: int) -> RankedLists:
    """The first ``depth`` positions of the stable ranking, by top-k selection
    (``labels`` 0 and ``key`` -inf at masked positions)."""
    batch = key.shape[0]
    order = _stable_top_keys(key).topk(depth, dim=1, largest=True, sorted=True).indices
    valid = mask.gather(1, order)
    ranked_labels = labels.gather(1, order).masked_fill(~valid, 0.0)
    pos = torch.arange(depth, device=key.device).expand(batch, depth)
    ranked = RankedLists(ranked_labels, valid, pos, pos + 1, mask.sum(dim=1), order, True)
    # the ideal ranking must come from every label, not the selected ones
    ranked._ideal = labels.topk(depth, dim=1, sorted=True).values
    return ranked


def rank_lists(
    scores: Tensor, labels: Tensor, mask: Tensor, ties: Ties, *, depth: int | None = None
) -> RankedLists:
    """Sort ``[B, L]`` lists by descending score; describe ties as groups (module docstring).

    ``depth``: only the first ``depth`` ranked positions (and the ideal top ``depth``) are
    needed; the result may then hold just those (``labels.shape[1] == depth``).
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    batch, length = scores.shape
    device = scores.device
    all_real = bool(mask.all())
    key = scores if all_real else scores.masked_fill(~mask, float("-inf"))
    real_neg_inf = bool((torch.isneginf(scores) & mask).any())
    if (
        depth is not None
        and 0 < depth < length
        and ties == "stable"
        and key.dtype == torch.float32
        and not real_neg_inf  # a real -inf must still beat masked items: full sort below
    ):
        return _rank_stable_top(
            labels if all_real else labels.masked_fill(~mask, 0.0), mask, key, depth
        )
    # Lexicographic order by successive stable sorts, least significant key first:
    # (label, for pessimistic/optimistic) -> (real before masked, only needed when a real
    # item scores -inf like the masked ones) -> score.
    order: Tensor | None = None

    def apply(perm: Tensor) -> None:
        nonlocal order, key
        key = key.gather(1, perm)
        order = perm if order is None else order.gather(1, perm)

    if ties in ("pessimistic", "optimistic"):
        apply(_stable_argsort(labels.masked_fill(~mask, 0.0), descending=ties == "optimistic"))
    if real_neg_inf:
        current_mask = mask if order is None else mask.gather(1, order)
        apply(_stable_argsort((~current_mask).to(torch.int8), descending=False))
    apply(_stable_argsort(key, descending=True))
    assert order is not None
    valid = mask.gather(1, order)
    ranked_labels = labels.gather(1, order).masked_fill(~valid, 0.0)
    n_valid = mask.sum(dim=1)
    pos = torch.arange(length, device=device).expand(batch, length)
    if ties != "average":
        return RankedLists(ranked_labels, valid, pos, pos + 1, n_valid, order, True)
    # Tie groups: a new group starts where the score (or validity) changes. Group ids by a
    # running count; group sizes by scatter-add; a group starts after all earlier groups.
    new = torch.ones(batch, length, dtype=torch.bool, device=device)
    new[:, 1:] = (key[:, 1:] != key[:, :-1]) | (valid[:, 1:] != valid[:, :-1])
    group = new.cumsum(dim=1) - 1
    size = torch.zeros_like(group).scatter_add_(1, group, torch.ones_like(group))
    first = size.cumsum(dim=1) - size
    start = first.gather(1, group)
    end = start + size.gather(1, group)
    return RankedLists(ranked_labels, valid, start, end, n_valid, order, False)


def ideal_labels(labels: Tensor, mask: Tensor) -> Tensor:
    """Labels of each list sorted descending (masked items last, as 0): the ideal ranking."""
    key = labels.masked_fill(~mask, float("-inf"))
    return key.sort(dim=1, descending=True).values.clamp(min=0.0)
