r"""Smooth approximations of ranking metrics as losses (Qin, Liu & Li 2010; Bruch et al. 2019).

A rank-based metric is a function of every item's rank and of whether it is in the top
k. Replacing the rank by the smooth rank
:math:`\hat r_i = 1 + \sum_{j \ne i} \sigma((s_j - s_i)/T)` and the top-k indicator
:math:`[r_i \le k]` by :math:`\sigma((\beta - \hat r_i)/T)` (β halfway between the k-th and
(k+1)-th smallest smooth rank, without gradient; Rax's ``approx_cutoff`` applied to the
negated ranks) gives a differentiable metric. The loss is its
negative. The metric formulas are rankwise's own (``*_from_ranks`` in
:mod:`rankwise.functional._metrics`, which equal the exact metrics with hard ranks).

Relations: ``approx_ndcg_loss(temperature=1/alpha)`` is allRank's ``approxNDCGLoss``
(which has no cut-off); ``approx_metric_loss(metric="mrr")`` Rax's approx MRR.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._checks import Reduction
from rankwise.functional._gains import Gain
from rankwise.functional._losses.common import finish, prepare
from rankwise.functional._metrics import FROM_RANKS
from rankwise.functional._soft_sorting import soft_rank

ApproxMetric = Literal["ndcg", "dcg", "mrr", "precision", "recall"]


def smooth_cutoff(
    values: Tensor,
    mask: Tensor,
    k: int | None,
    temperature: float,
    smoothing: Literal["sigmoid", "bound"] = "sigmoid",
) -> Tensor:
    """Smooth membership [B, L] of the k largest ``values``: σ((v - β)/T) (or the lower
    bound 1 - relu(1 - (v - β)) of the step), β halfway between the k-th and (k+1)-th
    largest value, without gradient. For ranks pass ``values = -ranks``.

    Lists with at most k real items get 1 everywhere (every item is in the top k).

    Example:
        >>> # the top 1 of three values: about 1 for the largest, about 0 for the others
        >>> values, mask = torch.tensor([[3.0, 1.0, 0.0]]), torch.ones(1, 3, dtype=torch.bool)
        >>> c = smooth_cutoff(values, mask, 1, 0.1)
        >>> [round(v, 2) for v in c[0].tolist()]
        [1.0, 0.0, 0.0]
    """
    scores = values
    if k is None:
        return mask.to(scores.dtype)
    with torch.no_grad():
        ranked = (
            scores.detach().masked_fill(~mask, float("-inf")).sort(dim=1, descending=True).values
        )
        n = mask.sum(dim=1)
        if ranked.shape[1] > k:
            beta = (ranked[:, k - 1] + ranked[:, k]) / 2.0
        else:
            beta = ranked[:, -1]
        beta = torch.where(torch.isfinite(beta), beta, torch.zeros_like(beta)).unsqueeze(1)
    if smoothing == "bound":
        c = 1.0 - torch.relu(1.0 - (scores - beta))
    else:
        c = torch.sigmoid((scores - beta) / temperature)
    c = torch.where((n > k).unsqueeze(1), c, torch.ones_like(c))
    return c * mask


def approx_metric_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    metric: ApproxMetric = "ndcg",
    k: int | None = None,
    temperature: float = 1.0,
    gain: Gain = "exp2",
    threshold: float = 1.0,
    smoothing: Literal["sigmoid", "bound"] = "sigmoid",
) -> Tensor:
    """Negative smooth approximation of ``metric`` ("ndcg", "dcg", "mrr", "precision",
    "recall") at cut-off ``k`` (module docstring). ``smoothing="bound"`` replaces the
    sigmoids by piecewise-linear bounds of the step function (rank: relu(x + 1); cut-off:
    1 - relu(1 - x); Rax's ``bound_t12n``), so the metric is bounded from below. Lists
    without a relevant item carry no signal (their metric is 0 whatever the scores).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> good = approx_metric_loss(s, y, metric="mrr", temperature=0.1)
        >>> bool(good < approx_metric_loss(-s, y, metric="mrr", temperature=0.1))
        True
    """
    if metric not in FROM_RANKS:
        raise ValueError(f"approx_metric_loss: metric must be one of {sorted(FROM_RANKS)}")
    if temperature <= 0:
        raise ValueError(f"approx_metric_loss: temperature must be > 0, got {temperature}")
    x = prepare("approx_metric_loss", scores, labels, mask, weights, reduction, k=k)
    ranks = soft_rank(
        x.scores,
        x.mask,
        temperature=temperature,
        method="bound" if smoothing == "bound" else "pairwise",
    )
    cut = smooth_cutoff(-ranks, x.mask, k, temperature, smoothing)
    fn = FROM_RANKS[metric]
    if metric in ("ndcg",):
        value, has = fn(ranks, x.labels, x.mask, cut, k=k, gain=gain)
    elif metric == "dcg":
        value, has = fn(ranks, x.labels, x.mask, cut, gain=gain)
    elif metric == "precision":
        value, has = fn(ranks, x.labels, x.mask, cut, k=k, threshold=threshold)
    else:
        value, has = fn(ranks, x.labels, x.mask, cut, threshold=threshold)
    return finish(-value, has & x.has_items, x, reduction)


def approx_ndcg_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    temperature: float = 1.0,
    k: int | None = None,
    gain: Gain = "exp2",
) -> Tensor:
    r"""ApproxNDCG (Qin et al. 2010): :math:`-\sum_i \frac{\text{gain}(y_i)}{\log_2(1 + \hat r_i)}
    / \text{IDCG}`, smooth ranks at ``temperature`` (allRank's ``alpha`` = 1/temperature),
    optional smooth top-``k`` cut-off.

    Example:
        >>> float(approx_ndcg_loss(torch.tensor([[5., 0.]]), torch.tensor([[1., 0.]]))) < -0.99
        True
    """
    return approx_metric_loss(
        scores,
        labels,
        mask=mask,
        weights=weights,
        reduction=reduction,
        metric="ndcg",
        k=k,
        temperature=temperature,
        gain=gain,
    )
