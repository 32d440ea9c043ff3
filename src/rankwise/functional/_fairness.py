r"""Fairness of rankings towards a protected group.

``groups`` [B, L] marks the protected items (True / 1). Lists are ranked by ``scores``
(descending; ``ties`` as in the other metrics but deterministic: ``"stable"``,
``"pessimistic"`` puts protected items last among equal scores, ``"optimistic"`` first).

Yang & Stoyanovich 2017, "Measuring Fairness in Ranked Outputs" (SSDBM): with N items
of which P are protected, and :math:`P_i` protected among the top i, at cut-offs
i = 10, 20, ... (``step``) up to N,

- rND :math:`= \frac1Z \sum_i \frac{1}{\log_2 i} \left| \frac{P_i}{i} - \frac{P}{N} \right|`
- rKL :math:`= \frac1Z \sum_i \frac{1}{\log_2 i} D_{KL}(p_i \| q)` with
  :math:`p_i = (P_i/i,\ 1 - P_i/i)` and :math:`q = (P/N,\ 1 - P/N)`
  (natural log, :math:`0 \log 0 = 0`)
- rRD :math:`= \frac1Z \sum_i \frac{1}{\log_2 i}
  \left| \frac{P_i}{i - P_i} - \frac{P}{N-P} \right|`,
  meant for a protected *minority*; a ratio with nothing below the bar counts as 0.

Z is the value of the most unfair ranking for the same N and P (all protected items at
the bottom, or all at the top, whichever is larger), so each measure lies in [0, 1],
0 meaning proportional representation at every cut-off. The authors' code uses
:math:`\log_2(i+1)` and clamps probabilities to 0.001 in rKL; rankwise follows the
paper's formulas. A list with fewer than ``step`` items, or without both groups, has no
value (``empty`` policy).

Singh & Joachims 2018, "Fairness of Exposure in Rankings" (KDD): the exposure of rank r
is :math:`1/\log_2(1+r)`; :func:`exposure_disparity` compares the groups' average
exposure (demographic parity) or their exposure per unit of relevance (disparate
treatment).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._checks import Reduction, check_lists, check_reduction, numpy_compatible
from rankwise.functional._exact_ranking import RankedLists, rank_lists
from rankwise.functional._gains import discount
from rankwise.functional._metrics import Empty, finish_metric

GroupTies = Literal["stable", "pessimistic", "optimistic"]


def _ranked_groups(
    scores: Tensor, groups: Tensor, mask: Tensor | None, ties: GroupTies, name: str
) -> RankedLists:
    """Lists ranked by score, with the protected flags (0/1) in place of labels."""
    if ties not in ("stable", "pessimistic", "optimistic"):
        raise ValueError(f"{name}: ties must be 'stable', 'pessimistic' or 'optimistic'")
    scores, g, mask = check_lists(
        scores, torch.as_tensor(groups).to(torch.float64), mask, name=name
    )
    if not ((g == 0) | (g == 1)).all():
        raise ValueError(f"{name}: groups must be 0/1 (or bool): 1 marks the protected items")
    return rank_lists(scores, g, mask, ties)


def _discounted_sum(values: Tensor, cut: Tensor, include: Tensor) -> Tensor:
    """Σ over cut-offs of values / log2(i); ``values``, ``cut``, ``include`` [B, C]."""
    weight = torch.where(include, 1.0 / torch.log2(cut.clamp(min=2.0)), torch.zeros_like(cut))
    return (values * weight).sum(dim=1)


def _measure(kind: str, protected_top: Tensor, cut: Tensor, n: Tensor, p: Tensor) -> Tensor:
    """Per cut-off value of rND/rKL/rRD before discounting, [B, C]."""
    share = protected_top / cut
    target = (p / n.clamp(min=1)).unsqueeze(1).expand_as(share)
    if kind == "rND":
        return (share - target).abs()
    if kind == "rKL":
        return _bernoulli_kl(share, target)
    others = cut - protected_top
    ratio = torch.where(others > 0, protected_top / others.clamp(min=1), torch.zeros_like(share))
    target_ratio = (p / (n - p).clamp(min=1)).unsqueeze(1).expand_as(share)
    return (ratio - target_ratio).abs()


def _bernoulli_kl(p: Tensor, q: Tensor) -> Tensor:
    def term(a: Tensor, b: Tensor) -> Tensor:
        safe = torch.where(a > 0, a / b.clamp(min=1e-300), torch.ones_like(a))
        return torch.where(a > 0, a * torch.log(safe), torch.zeros_like(a))

    return term(p, q) + term(1 - p, 1 - q)


def _group_fairness(
    kind: str,
    scores: Tensor,
    groups: Tensor,
    mask: Tensor | None,
    step: int,
    ties: GroupTies,
    empty: Empty,
    reduction: Reduction,
) -> Tensor:
    check_reduction(reduction, kind)
    if step < 1:
        raise ValueError(f"{kind}: step must be >= 1, got {step}")
    ranked = _ranked_groups(scores, groups, mask, ties, kind)
    g, valid, n_valid = ranked.labels, ranked.valid, ranked.n_valid
    batch, length = g.shape
    dtype = torch.float64
    cum = torch.cumsum(g.to(dtype) * valid, dim=1)
    cuts = torch.arange(step, max(length, step) + 1, step, device=g.device)
    cuts = cuts[cuts <= length]
    if cuts.numel() == 0:
        values = torch.zeros(batch, dtype=dtype, device=g.device)
        return finish_metric(
            values, torch.zeros_like(n_valid, dtype=torch.bool), n_valid > 0, empty, reduction
        )
    n = n_valid.to(dtype)
    p = cum[:, -1]
    cut = cuts.to(dtype).unsqueeze(0).expand(batch, -1)
    include = cuts.unsqueeze(0) <= n_valid.unsqueeze(1)
    actual = _discounted_sum(_measure(kind, cum[:, cuts - 1], cut, n, p), cut, include)
    # The most unfair rankings: protected items all at the top, or all at the bottom.
    top = torch.minimum(cut, p.unsqueeze(1))
    bottom = (cut - (n - p).unsqueeze(1)).clamp(min=0)
    worst = torch.maximum(
        _discounted_sum(_measure(kind, top, cut, n, p), cut, include),
        _discounted_sum(_measure(kind, bottom, cut, n, p), cut, include),
    )
    defined = (worst > 0) & (p > 0) & (p < n) & (n_valid >= step)
    values = actual / torch.where(defined, worst, torch.ones_like(worst))
    return finish_metric(values, defined, n_valid > 0, empty, reduction)


@numpy_compatible
def rnd(
    scores: Tensor,
    groups: Tensor,
    *,
    mask: Tensor | None = None,
    step: int = 10,
    ties: GroupTies = "stable",
    empty: Empty = "zero",
    reduction: Reduction = "mean",
) -> Tensor:
    """Normalized discounted difference (rND) of Yang & Stoyanovich 2017 (module docstring).

    Example:
        >>> scores = -torch.arange(20.0).unsqueeze(0)  # item 0 first
        >>> float(rnd(scores, torch.tensor([[1, 0] * 10])))  # proportional at every cut-off
        0.0
        >>> float(rnd(scores, torch.tensor([[0] * 10 + [1] * 10])))  # protected last: the worst
        1.0
    """
    return _group_fairness("rND", scores, groups, mask, step, ties, empty, reduction)


@numpy_compatible
def rkl(
    scores: Tensor,
    groups: Tensor,
    *,
    mask: Tensor | None = None,
    step: int = 10,
    ties: GroupTies = "stable",
    empty: Empty = "zero",
    reduction: Reduction = "mean",
) -> Tensor:
    """Normalized discounted KL-divergence (rKL) of Yang & Stoyanovich 2017.

    Example:
        >>> groups = torch.tensor([[1] * 10 + [0] * 10])  # protected items all on top
        >>> bool(rkl(-torch.arange(20.0).unsqueeze(0), groups) > 0)
        True
    """
    return _group_fairness("rKL", scores, groups, mask, step, ties, empty, reduction)


@numpy_compatible
def rrd(
    scores: Tensor,
    groups: Tensor,
    *,
    mask: Tensor | None = None,
    step: int = 10,
    ties: GroupTies = "stable",
    empty: Empty = "zero",
    reduction: Reduction = "mean",
) -> Tensor:
    """Normalized discounted ratio difference (rRD) of Yang & Stoyanovich 2017.

    Meaningful when the protected group is the minority of the list.

    Example:
        >>> groups = torch.tensor([[1] * 5 + [0] * 15])  # a protected minority, on top
        >>> bool(rrd(-torch.arange(20.0).unsqueeze(0), groups) > 0)
        True
    """
    return _group_fairness("rRD", scores, groups, mask, step, ties, empty, reduction)


@numpy_compatible
def exposure_disparity(
    scores: Tensor,
    groups: Tensor,
    *,
    mask: Tensor | None = None,
    labels: Tensor | None = None,
    kind: Literal["demographic_parity", "disparate_treatment"] = "demographic_parity",
    ties: GroupTies = "stable",
    empty: Empty = "zero",
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Exposure of the non-protected group minus that of the protected group.

    Singh & Joachims 2018. Exposure of rank r: :math:`v_r = 1/\log_2(1+r)`;
    :math:`\text{Exp}(G)` is the mean exposure of group G's items.

    - ``"demographic_parity"``: :math:`\text{Exp}(G_0) - \text{Exp}(G_1)`;
    - ``"disparate_treatment"``: :math:`\text{Exp}(G_0)/U(G_0) - \text{Exp}(G_1)/U(G_1)` with
      :math:`U(G)` the mean label of the group (needs ``labels``; a group with zero
      utility makes the list undefined).

    :math:`G_1` is the protected group, so a positive value means it is under-exposed.
    Lists without both groups follow ``empty``.

    Example:
        >>> # the protected items ranked first are over-exposed: a negative disparity
        >>> groups = torch.tensor([[1, 1, 0, 0]])
        >>> bool(exposure_disparity(torch.tensor([[4.0, 3.0, 2.0, 1.0]]), groups) < 0)
        True
    """
    check_reduction(reduction, "exposure_disparity")
    if kind not in ("demographic_parity", "disparate_treatment"):
        raise ValueError(f"exposure_disparity: unknown kind {kind!r}")
    ranked = _ranked_groups(scores, groups, mask, ties, "exposure_disparity")
    g, valid, n_valid = ranked.labels, ranked.valid, ranked.n_valid
    dtype = torch.float64
    ranks = torch.arange(1, g.shape[1] + 1, dtype=dtype, device=g.device)
    exposure = discount(ranks).unsqueeze(0) * valid
    prot = (g > 0.5) & valid
    other = (g <= 0.5) & valid
    n1, n0 = prot.sum(dim=1).to(dtype), other.sum(dim=1).to(dtype)
    exp1 = (exposure * prot).sum(dim=1) / n1.clamp(min=1)
    exp0 = (exposure * other).sum(dim=1) / n0.clamp(min=1)
    defined = (n1 > 0) & (n0 > 0)
    if kind == "demographic_parity":
        values = exp0 - exp1
    else:
        if labels is None:
            raise ValueError("exposure_disparity: disparate_treatment needs labels")
        _, y, _ = check_lists(scores, labels, mask, name="exposure_disparity")
        y_ranked = y.gather(1, ranked.order).to(dtype)
        u1 = (y_ranked * prot).sum(dim=1) / n1.clamp(min=1)
        u0 = (y_ranked * other).sum(dim=1) / n0.clamp(min=1)
        defined = defined & (u1 > 0) & (u0 > 0)
        values = exp0 / u0.clamp(min=1e-300) - exp1 / u1.clamp(min=1e-300)
    values = torch.where(defined, values, torch.zeros_like(values))
    return finish_metric(values, defined, n_valid > 0, empty, reduction)
