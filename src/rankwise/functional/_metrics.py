r"""Rank-based ranking metrics on batches of lists, with every convention explicit.

All functions take ``scores`` [B, L] (higher is better), ``labels`` [B, L] (graded
relevance >= 0) and ``mask`` [B, L] (True = real item; ``None``: all real), and return
one value per list (``reduction="none"``), their sum, or their mean over lists that
have at least one real item (and are not skipped). Numpy arrays work too (numpy out).

Conventions (each a keyword argument, never a hidden default of a backend):

``gain``
    ``"exp2"`` (:math:`2^{y}-1`; LightGBM, allRank, TF-Ranking, Rax), ``"linear"``
    (:math:`y`; trec_eval, ranx ``ndcg``, scikit-learn) or a callable on the label tensor.
``empty``
    value of a list with no relevant item (no positive gain / no label >= threshold; for
    AUC also no non-relevant item): ``"zero"`` (trec_eval, Rax, ranx, sklearn),
    ``"one"`` (LightGBM, XGBoost, allRank ``ndcg``) or ``"skip"`` (NaN per list, left out
    of the mean). A list with no real item at all is never counted in the mean and is 0.
``ties``
    equal scores: ``"average"`` (the exact expected value over uniformly random
    tie-breaking, in closed form; sklearn's NDCG), ``"pessimistic"`` (relevant items
    last among equals), ``"optimistic"``, ``"stable"`` (input order; LightGBM, XGBoost,
    allRank, Rax).
``k``
    cut-off; ``None`` or a ``k`` beyond a list's length means the whole list (a short list
    is never padded with zeros, except by ``precision(..., short_lists="pad")``).
``threshold``
    binary metrics count an item as relevant when ``label >= threshold`` (default 1,
    as trec_eval's ``rel_level``); a float or a [B] tensor (one per list).

A metric never changes when other lists are added to the batch. Discounts are
:math:`1/\log_2(1 + \text{rank})` with ranks starting at 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._checks import (
    Reduction,
    check_k,
    check_lists,
    check_reduction,
    numpy_compatible,
)
from rankwise.functional._exact_ranking import RankedLists, Ties, rank_lists
from rankwise.functional._gains import (
    Gain,
    apply_gain,
    discount,
    discounts,
    ideal_dcg,
    ideal_dcg_of_sorted,
)
from rankwise.functional._reduction import reduce_lists

Empty = Literal["zero", "one", "skip"]
EMPTY = ("zero", "one", "skip")
Threshold = float | Tensor
Kernel = Callable[..., tuple[Tensor, Tensor]]


# ----------------------------------------------------------------------------- helpers
def _cut(weights: Tensor, k: int | None) -> Tensor:
    if k is None or k >= weights.shape[0]:
        return weights
    out = weights.clone()
    out[k:] = 0.0
    return out


def expected_position_weight(
    ranked: RankedLists, weights: Tensor, columns: int | None = None
) -> Tensor:
    """[B, C] expected weight of the rank each item gets; ``weights`` [L] per position.

    For a tie group at positions ``[a, e)`` every item is equally likely to be at each
    of them, so its expected weight is the mean of ``weights[a:e]``. Only the first
    ``columns`` ranked positions are returned (default: all).
    """
    batch, length = ranked.shape
    cols = length if columns is None else columns
    if ranked.singleton_groups:
        return weights[:cols].expand(batch, cols)
    prefix = torch.zeros(length + 1, dtype=weights.dtype, device=weights.device)
    torch.cumsum(weights, dim=0, out=prefix[1:])
    prefix = prefix.expand(batch, length + 1)
    start, end = ranked.group_start[:, :cols], ranked.group_end[:, :cols]
    span = (end - start).to(weights.dtype)
    return (prefix.gather(1, end) - prefix.gather(1, start)) / span


def ranked_gains(ranked: RankedLists, gain: Gain) -> Tensor:
    """Gains of the ranked labels (0 at masked positions), cached per named gain."""
    if not isinstance(gain, str):
        return apply_gain(ranked.labels, gain) * ranked.valid
    key = f"gain:{gain}"
    if key not in ranked._cache:
        ranked._cache[key] = apply_gain(ranked.labels, gain) * ranked.valid
    return ranked._cache[key]


def expected_in_top(ranked: RankedLists, k: Tensor) -> Tensor:
    """[B, L] probability that each item lands within the top ``k`` [B] positions."""
    a, e = ranked.group_start, ranked.group_end
    kk = k.unsqueeze(1)
    inside = (torch.minimum(e, kk) - torch.minimum(a, kk)).clamp(min=0)
    return inside.to(torch.float64) / (e - a).to(torch.float64)


def _log_comb(n: Tensor, r: Tensor) -> Tensor:
    """log C(n, r) for float tensors (valid where 0 <= r <= n)."""
    return torch.lgamma(n + 1) - torch.lgamma(r + 1) - torch.lgamma(n - r + 1)


def _relevance(labels: Tensor, threshold: Threshold) -> Tensor:
    if isinstance(threshold, Tensor):
        t = threshold.to(device=labels.device, dtype=labels.dtype).reshape(-1, 1)
        return labels >= t
    return labels >= threshold


def finish_metric(
    values: Tensor,
    has_relevant: Tensor,
    has_items: Tensor,
    empty: Empty,
    reduction: Reduction,
) -> Tensor:
    """Apply the empty-list policy and the reduction (one place for every metric)."""
    if empty not in EMPTY:
        raise ValueError(f"empty must be one of {EMPTY}, got {empty!r}")
    fill = {"zero": 0.0, "one": 1.0, "skip": float("nan")}[empty]
    out = torch.where(has_relevant, values, torch.full_like(values, fill))
    out = torch.where(has_items, out, torch.zeros_like(out) if empty != "skip" else out)
    qualifies = has_items & (has_relevant | (empty != "skip"))
    return reduce_lists(out, qualifies, reduction)


def _ideal(
    labels: Tensor,
    mask: Tensor,
    ideal: Tensor | None,
    ideal_mask: Tensor | None,
    name: str,
) -> tuple[Tensor, Tensor]:
    """Labels and mask that define the ideal ranking (the list's own by default)."""
    if ideal is None:
        return labels, mask
    ideal = ideal.to(device=labels.device, dtype=labels.dtype)
    if ideal.dim() == 1:
        ideal = ideal.unsqueeze(0)
    if ideal.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{name}: ideal_labels has {ideal.shape[0]} lists, scores {labels.shape[0]}"
        )
    if ideal_mask is None:
        ideal_mask = torch.ones_like(ideal, dtype=torch.bool)
    ideal_mask = ideal_mask.to(labels.device).reshape(ideal.shape)
    if (ideal[ideal_mask] < 0).any():
        raise ValueError(f"{name}: ideal_labels must be >= 0")
    return ideal.masked_fill(~ideal_mask, 0.0), ideal_mask


# --------------------------------------------------------------------------- metrics
# --------------------------------------------------------------------------- kernels
# A kernel takes lists already ranked by :func:`rank_lists` and returns the value of each
# list and whether the list "has a relevant item" (the lists the ``empty`` policy is
# about). Public functions and :func:`rankwise.metrics.evaluate` share them, so a batch
# evaluated on several metrics is ranked once per tie convention.


# The DCG family has one formula each, shared by the exact metrics (on lists ranked by
# rank_lists, with ties averaged) and their smooth forms from ranks (the approximate-metric
# losses): DCG is the sum of gains times each one's discount weight, NDCG divides it by the
# ideal DCG. Only the weights differ: expected discounts of ranked positions, or smooth
# discounts of smooth ranks times a smooth top-k membership.
def discounted_gain(gains: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """[B] ``sum gains * weights`` and whether the list has a positive gain."""
    return (gains * weights).sum(dim=1), (gains > 0).any(dim=1)


def normalized_by_ideal(dcg: Tensor, idcg: Tensor) -> tuple[Tensor, Tensor]:
    """[B] ``dcg / idcg`` (0 where the ideal DCG is 0) and whether it is positive."""
    has = idcg > 0
    return dcg / torch.where(has, idcg, torch.ones_like(idcg)), has


def dcg_kernel(
    ranked: RankedLists, labels: Tensor, mask: Tensor, *, k: int | None = None, gain: Gain = "exp2"
) -> tuple[Tensor, Tensor]:
    """Per-list DCG and whether the list has a positive gain (see :func:`dcg`)."""
    g = ranked_gains(ranked, gain)
    weights = _cut(discounts(g.shape[1], g.dtype, g.device), k)
    cols = ranked.columns_for_cutoff(k)
    value, _ = discounted_gain(g[:, :cols], expected_position_weight(ranked, weights, cols))
    return value, (g > 0).any(dim=1)


def ndcg_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    gain: Gain = "exp2",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-list NDCG and whether the list's IDCG is positive (see :func:`ndcg`)."""
    actual, _ = dcg_kernel(ranked, labels, mask, k=k, gain=gain)
    if ideal_labels is None:
        # ranked.labels are the list's labels (masked ones 0), so sorting them suffices
        idcg = ideal_dcg_of_sorted(ranked.ideal(), k, gain)
    else:
        ideal_y, ideal_m = _ideal(labels, mask, ideal_labels, ideal_mask, "ndcg")
        idcg = ideal_dcg(ideal_y, ideal_m, k, gain)
    return normalized_by_ideal(actual, idcg)


def precision_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    threshold: Threshold = 1.0,
    short_lists: Literal["whole", "pad"] = "whole",
) -> tuple[Tensor, Tensor]:
    """Per-list precision@k and whether the list has a relevant item."""
    if short_lists not in ("whole", "pad"):
        raise ValueError(f"precision: short_lists must be 'whole' or 'pad', got {short_lists!r}")
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    n = ranked.n_valid
    kk = n if k is None else torch.clamp(n, max=k)
    count = (rel * expected_in_top(ranked, kk)).sum(dim=1).to(ranked.labels.dtype)
    denom = kk if (short_lists == "whole" or k is None) else torch.full_like(n, k)
    return count / denom.clamp(min=1).to(count.dtype), rel.any(dim=1)


def _relevant_total(
    labels: Tensor,
    mask: Tensor,
    threshold: Threshold,
    ideal: Tensor | None,
    ideal_mask: Tensor | None,
    name: str,
) -> Tensor:
    ideal_y, ideal_m = _ideal(labels, mask, ideal, ideal_mask, name)
    return (_relevance(ideal_y, threshold) & ideal_m).sum(dim=1)


def recall_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    threshold: Threshold = 1.0,
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-list recall@k and whether the list (or its ideal labels) has a relevant item."""
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    total = _relevant_total(labels, mask, threshold, ideal_labels, ideal_mask, "recall")
    kk = ranked.n_valid if k is None else torch.clamp(ranked.n_valid, max=k)
    count = (rel * expected_in_top(ranked, kk)).sum(dim=1).to(ranked.labels.dtype)
    return count / total.clamp(min=1).to(count.dtype), total > 0


def r_precision_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    threshold: Threshold = 1.0,
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-list R-precision and whether the list has a relevant item."""
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    total = _relevant_total(labels, mask, threshold, ideal_labels, ideal_mask, "r_precision")
    count = (rel * expected_in_top(ranked, total)).sum(dim=1).to(ranked.labels.dtype)
    return count / total.clamp(min=1).to(count.dtype), total > 0


def hits_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    threshold: Threshold = 1.0,
    binary: bool = True,
) -> tuple[Tensor, Tensor]:
    """Per-list hits@k (binary or a count) and whether the list has a relevant item."""
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    n = ranked.n_valid
    kk = n if k is None else torch.clamp(n, max=k)
    if not binary:
        values = (rel * expected_in_top(ranked, kk)).sum(dim=1).to(ranked.labels.dtype)
        return values, rel.any(dim=1)
    dtype = ranked.labels.dtype
    cum = ranked.prefix_sum(rel.to(dtype))
    last = (kk - 1).clamp(min=0).unsqueeze(1)
    a = ranked.group_start.gather(1, last).squeeze(1)
    e = ranked.group_end.gather(1, last).squeeze(1)
    above = cum.gather(1, a.unsqueeze(1)).squeeze(1) > 0
    in_group = (cum.gather(1, e.unsqueeze(1)) - cum.gather(1, a.unsqueeze(1))).squeeze(1)
    t, s = (e - a).to(torch.float64), (kk - a).to(torch.float64)
    r = in_group.to(torch.float64)
    # P(no relevant among the s slots given to the straddling group) = C(t-r, s) / C(t, s)
    possible = (t - r) >= s
    log_p = _log_comb((t - r).clamp(min=0), s.clamp(max=(t - r).clamp(min=0))) - _log_comb(t, s)
    p_none = torch.where(possible, torch.exp(log_p), torch.zeros_like(log_p))
    values = torch.where(above, torch.ones_like(p_none), 1.0 - p_none).to(dtype)
    return torch.where(n > 0, values, torch.zeros_like(values)), rel.any(dim=1)


def reciprocal_rank_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    threshold: Threshold = 1.0,
) -> tuple[Tensor, Tensor]:
    """Per-list reciprocal rank and whether the list has a relevant item."""
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    has_rel = rel.any(dim=1)
    dtype = ranked.labels.dtype
    first = rel.to(torch.int8).argmax(dim=1, keepdim=True)
    if ranked.singleton_groups:
        rank = (first.squeeze(1) + 1).to(dtype)
        inside = torch.ones_like(has_rel) if k is None else rank <= k
        return torch.where(has_rel & inside, 1.0 / rank, torch.zeros_like(rank)), has_rel
    cum = ranked.prefix_sum(rel.to(torch.float64))
    a = ranked.group_start.gather(1, first)
    e = ranked.group_end.gather(1, first)
    t = (e - a).to(torch.float64)
    r = cum.gather(1, e) - cum.gather(1, a)
    j = torch.arange(1, rel.shape[1] + 1, dtype=torch.float64, device=rel.device).unsqueeze(0)
    feasible = j <= (t - r + 1)
    log_p = _log_comb((t - j).clamp(min=0), (r - 1).clamp(min=0)) - _log_comb(t, r)
    rank = a.to(torch.float64) + j
    weight = torch.where(feasible, torch.exp(log_p) / rank, torch.zeros_like(rank))
    if k is not None:
        weight = torch.where(rank <= k, weight, torch.zeros_like(weight))
    values = weight.sum(dim=1).to(dtype)
    return torch.where(has_rel, values, torch.zeros_like(values)), has_rel


def average_precision_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | Tensor | None = None,
    threshold: Threshold = 1.0,
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-list average precision and whether the list has a relevant item; ``k`` may be a
    [B, 1] tensor of per-list cut-offs (MAP@R of :func:`rankwise.metrics.retrieval_metrics`)."""
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    dtype = ranked.labels.dtype
    cum = ranked.prefix_sum(rel.to(dtype))
    a, e = ranked.group_start, ranked.group_end
    t = (e - a).to(dtype)
    r = cum.gather(1, e) - cum.gather(1, a)
    before = cum.gather(1, a)
    pos = ranked.positions().to(dtype).unsqueeze(0)
    j = pos - a.to(dtype) + 1.0
    expected_hits = before + 1.0 + (j - 1.0) * (r - 1.0) / (t - 1.0).clamp(min=1.0)
    contrib = (r / t) * expected_hits / (pos + 1.0) * ranked.valid
    if k is not None:
        contrib = contrib * (pos < k)
    total = _relevant_total(labels, mask, threshold, ideal_labels, ideal_mask, "average_precision")
    return contrib.sum(dim=1) / total.clamp(min=1).to(dtype), total > 0


def err_kernel(
    ranked: RankedLists,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None = None,
    max_label: float = 4.0,
) -> tuple[Tensor, Tensor]:
    """Per-list ERR@k and whether the list has a positive stop probability."""
    if (labels > max_label).any():
        raise ValueError(f"err: a label exceeds max_label={max_label}; pass the scale's top grade")
    dtype = ranked.labels.dtype
    stop = (torch.exp2(ranked.labels) - 1.0) / (2.0**max_label) * ranked.valid
    length = stop.shape[1]
    ranks = torch.arange(1, length + 1, dtype=dtype, device=stop.device)
    weights = _cut(1.0 / ranks, k)
    if ranked.singleton_groups:
        survive = torch.cumprod(1.0 - stop, dim=1)
        before = torch.cat([torch.ones_like(survive[:, :1]), survive[:, :-1]], dim=1)
        values = (weights * stop * before).sum(dim=1)
    else:
        values = _err_with_tie_groups(ranked, stop, weights)
    return values, (stop > 0).any(dim=1)


def _err_with_tie_groups(ranked: RankedLists, stop: Tensor, weights: Tensor) -> Tensor:
    """Expected ERR over random orderings within tie groups.

    Within a group of t items at positions a+1..a+t, the item at a+m stops the user
    with expected probability G(m-1) - G(m), where G(m) is the average over m-subsets of
    the group of the product of (1 - R) (since R_i = 1 - x_i). G is updated item by item
    with G_q(m) = ((q-m)/q) G_{q-1}(m) + (m/q) x_q G_{q-1}(m-1), which never overflows.
    """
    batch, length = stop.shape
    dtype, device = stop.dtype, stop.device
    x = 1.0 - stop
    m = torch.arange(length + 1, dtype=dtype, device=device)
    g = torch.zeros(batch, length + 1, dtype=dtype, device=device)
    survive = torch.ones(batch, dtype=dtype, device=device)
    total = torch.zeros(batch, dtype=dtype, device=device)
    padded_w = torch.cat([weights.new_zeros(1), weights, weights.new_zeros(length)])
    for q in range(length):
        start = ranked.group_start[:, q]
        fresh = start == q
        g = torch.where(fresh.unsqueeze(1), (m == 0).to(dtype).expand(batch, -1), g)
        size = (q - start + 1).to(dtype).unsqueeze(1)  # items of the group seen so far
        shifted = torch.cat([torch.zeros_like(g[:, :1]), g[:, :-1]], dim=1)
        g = ((size - m) / size).clamp(min=0) * g + (m / size) * x[:, q : q + 1] * shifted
        ends = (ranked.group_end[:, q] == q + 1) & ranked.valid[:, q]
        if bool(ends.any()):
            t = (q + 1 - start).unsqueeze(1)  # group size
            idx = start.unsqueeze(1) + m.long()  # rank of slot m is start + m (1-based)
            w = padded_w.expand(batch, -1).gather(1, idx.clamp(max=padded_w.shape[0] - 1))
            prev = torch.cat([torch.ones_like(g[:, :1]), g[:, :-1]], dim=1)
            slot = (m >= 1) & (m.unsqueeze(0) <= t)
            contrib = (w * (prev - g) * slot).sum(dim=1)
            total = torch.where(ends, total + survive * contrib, total)
            survive = torch.where(ends, survive * g.gather(1, t).squeeze(1), survive)
    return total


def auc_kernel(
    ranked: RankedLists, labels: Tensor, mask: Tensor, *, threshold: Threshold = 1.0
) -> tuple[Tensor, Tensor]:
    """Per-list AUC and whether the list has both a relevant and a non-relevant item."""
    dtype = ranked.labels.dtype
    rel = _relevance(ranked.labels, threshold) & ranked.valid
    neg = ~rel & ranked.valid
    ncum = ranked.prefix_sum(neg.to(dtype))
    n_neg = ncum[:, -1:]
    after = n_neg - ncum.gather(1, ranked.group_end)
    same = ncum.gather(1, ranked.group_end) - ncum.gather(1, ranked.group_start)
    wins = ((after + 0.5 * same) * rel).sum(dim=1)
    n_pos = rel.sum(dim=1).to(dtype)
    pairs = n_pos * n_neg.squeeze(1)
    return wins / pairs.clamp(min=1.0), pairs > 0


def pair_accuracy_kernel(
    scores: Tensor, labels: Tensor, mask: Tensor, *, ties: Ties = "average"
) -> tuple[Tensor, Tensor]:
    """Per-list ordered-pair accuracy and whether the list has a pair of different labels.

    Works on unranked (checked) inputs: memory O(B·L²), in chunks of lists.
    """
    batch, length = scores.shape
    dtype = scores.dtype
    credit_tie = {"average": 0.5, "pessimistic": 0.0, "optimistic": 1.0, "stable": None}[ties]
    correct = torch.zeros(batch, dtype=dtype, device=scores.device)
    pairs = torch.zeros(batch, dtype=dtype, device=scores.device)
    chunk = max(1, (1 << 24) // max(length * length, 1))
    idx = torch.arange(length, device=scores.device)
    earlier = idx.unsqueeze(1) < idx.unsqueeze(0)
    for lo in range(0, batch, chunk):
        s, y, m = scores[lo : lo + chunk], labels[lo : lo + chunk], mask[lo : lo + chunk]
        valid = m.unsqueeze(2) & m.unsqueeze(1)
        ordered = (y.unsqueeze(2) > y.unsqueeze(1)) & valid
        diff = s.unsqueeze(2) - s.unsqueeze(1)
        tie = diff == 0
        if credit_tie is None:
            tie_credit = (tie & earlier).to(dtype)
        else:
            tie_credit = tie.to(dtype) * credit_tie
        credit = (diff > 0).to(dtype) + tie_credit
        correct[lo : lo + chunk] = (credit * ordered).sum(dim=(1, 2))
        pairs[lo : lo + chunk] = ordered.sum(dim=(1, 2)).to(dtype)
    return correct / pairs.clamp(min=1.0), pairs > 0


# Kernels that read only the first k ranked positions and the ideal top k.
TOP_K_KERNELS: frozenset[Kernel] = frozenset({ndcg_kernel})
# Kernels of unranked lists (they compare every pair themselves).
UNRANKED_KERNELS: frozenset[Kernel] = frozenset({pair_accuracy_kernel})


# ------------------------------------------------------------------- public functions
def metric_values(
    kernel: Kernel,
    ranked: RankedLists | None,
    scores: Tensor,
    labels: Tensor,
    mask: Tensor,
    *,
    ties: Ties,
    empty: Empty,
    reduction: Reduction,
    **options: object,
) -> Tensor:
    """The one path from checked inputs to a metric's values, for the public functions and
    :func:`rankwise.metrics.evaluate` alike: the kernel on the lists ranked by
    :func:`rank_lists` (``ranked``; kernels in :data:`UNRANKED_KERNELS` take the checked
    inputs and ``ties`` instead), then the ``empty`` policy and the reduction."""
    if kernel in UNRANKED_KERNELS:
        values, has_relevant = kernel(scores, labels, mask, ties=ties, **options)
        has_items = mask.any(dim=1)
    else:
        assert ranked is not None
        values, has_relevant = kernel(ranked, labels, mask, **options)
        has_items = ranked.n_valid > 0
    return finish_metric(values, has_relevant, has_items, empty, reduction)


def ranking_depth(kernel: Kernel, k: int | None) -> int | None:
    """How many ranked positions ``kernel`` at cut-off ``k`` reads: ``k`` for the kernels
    in :data:`TOP_K_KERNELS` (they read the top k and the ideal top k, so a top-k selection
    can replace the sort), else None (the whole list)."""
    return k if kernel in TOP_K_KERNELS else None


def _metric(
    name: str,
    kernel: Kernel,
    scores: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    k: int | None,
    empty: Empty,
    ties: Ties,
    reduction: Reduction,
    **options: object,
) -> Tensor:
    """A public metric function's body: check, rank, :func:`metric_values`."""
    check_reduction(reduction, name)
    check_k(k, name)
    scores, labels, mask = check_lists(scores, labels, mask, name=name)
    ranked = None
    if kernel not in UNRANKED_KERNELS:
        ranked = rank_lists(scores, labels, mask, ties, depth=ranking_depth(kernel, k))
    if k is not None:
        options["k"] = k
    return metric_values(
        kernel, ranked, scores, labels, mask, ties=ties, empty=empty, reduction=reduction, **options
    )


@numpy_compatible
def dcg(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    gain: Gain = "exp2",
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Discounted cumulative gain: :math:`\sum_{r \le k} \text{gain}(y_{(r)}) / \log_2(1+r)`.

    Järvelin & Kekäläinen 2002. A list with no positive gain follows ``empty``.

    Example:
        >>> dcg(torch.tensor([[3., 2., 1.]]), torch.tensor([[1., 0., 2.]]), gain="linear")
        tensor(2.)
    """
    return _metric("dcg", dcg_kernel, scores, labels, mask, k, empty, ties, reduction, gain=gain)


@numpy_compatible
def ndcg(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    gain: Gain = "exp2",
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> Tensor:
    r"""Normalized DCG: :math:`\text{DCG@}k / \text{IDCG@}k`, in [0, 1].

    IDCG@k is the DCG@k of the labels sorted in decreasing order (Järvelin &
    Kekäläinen 2002). A list whose IDCG is 0 (no positive gain) follows ``empty``.
    ``ideal_labels`` [B, L'] (with ``ideal_mask``) gives the ideal ranking from another
    set of judgements, e.g. every judged document of a query rather than only the
    retrieved ones (trec_eval's ``ndcg_cut``).

    Example:
        >>> ndcg(torch.tensor([[3., 2., 1.]]), torch.tensor([[0., 0., 1.]]), gain="linear")
        tensor(0.5000)
    """
    return _metric(
        "ndcg",
        ndcg_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        gain=gain,
        ideal_labels=ideal_labels,
        ideal_mask=ideal_mask,
    )


@numpy_compatible
def precision(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    threshold: Threshold = 1.0,
    short_lists: Literal["whole", "pad"] = "whole",
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Precision@k: the fraction of the top k items that are relevant.

    ``short_lists="whole"`` (default, Rax) divides by ``min(k, list length)``, so a list
    shorter than k counts as a whole list; ``"pad"`` divides by ``k`` as if the missing
    positions held non-relevant items (trec_eval ``P_k``, ranx).

    Example:
        >>> precision(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0]]), k=2)
        tensor(0.5000)
    """
    return _metric(
        "precision",
        precision_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        threshold=threshold,
        short_lists=short_lists,
    )


@numpy_compatible
def recall(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    threshold: Threshold = 1.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> Tensor:
    """Recall@k: relevant items in the top k over all relevant items.

    The number of relevant items comes from ``ideal_labels`` when given (e.g. all
    judged documents, including those a run did not retrieve).

    Example:
        >>> recall(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0]]), k=1)
        tensor(0.5000)
    """
    return _metric(
        "recall",
        recall_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        threshold=threshold,
        ideal_labels=ideal_labels,
        ideal_mask=ideal_mask,
    )


@numpy_compatible
def r_precision(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    threshold: Threshold = 1.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> Tensor:
    """R-precision: precision at R, where R is the list's number of relevant items.

    Equals recall@R. trec_eval ``Rprec`` (with ``ideal_labels`` = all judgements).

    Example:
        >>> # R = 2 relevant items; one of them in the top 2
        >>> r_precision(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0]]))
        tensor(0.5000)
    """
    return _metric(
        "r_precision",
        r_precision_kernel,
        scores,
        labels,
        mask,
        None,
        empty,
        ties,
        reduction,
        threshold=threshold,
        ideal_labels=ideal_labels,
        ideal_mask=ideal_mask,
    )


@numpy_compatible
def hits(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    threshold: Threshold = 1.0,
    binary: bool = True,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Hits@k: 1 if a relevant item is in the top k, else 0 (the "hit rate").

    ``binary=False`` gives the number of relevant items in the top k instead (ranx's
    ``hits``). With ``ties="average"`` the binary form is the exact probability of a hit
    when the tie group that straddles position k is ordered at random (hypergeometric).

    Example:
        >>> s, y = torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[0.0, 1.0, 0.0]])
        >>> hits(s, y, k=1), hits(s, y, k=2)
        (tensor(0.), tensor(1.))
    """
    return _metric(
        "hits",
        hits_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        threshold=threshold,
        binary=binary,
    )


@numpy_compatible
def reciprocal_rank(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    threshold: Threshold = 1.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Reciprocal rank of the first relevant item (0 if it is ranked below k); mean: MRR.

    With ``ties="average"``: if the first tie group holding a relevant item spans
    positions a+1..a+t and holds r relevant items, the first of them is at a+j with
    probability C(t-j, r-1)/C(t, r); the value is the expectation of 1/(a+j).

    Example:
        >>> reciprocal_rank(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[0.0, 1.0, 0.0]]))
        tensor(0.5000)
    """
    return _metric(
        "reciprocal_rank",
        reciprocal_rank_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        threshold=threshold,
    )


@numpy_compatible
def average_precision(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    threshold: Threshold = 1.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
    ideal_labels: Tensor | None = None,
    ideal_mask: Tensor | None = None,
) -> Tensor:
    r"""Average precision (mean: MAP): :math:`\frac1R \sum_{r \le k,\ y_{(r)}\ \text{rel}} P@r`.

    R is the number of relevant items of the list (or of ``ideal_labels``), as in
    trec_eval ``map``/``map_cut``, Rax and ranx. With ``ties="average"`` the value is the
    exact expectation (McSherry & Najork 2008): in a tie group of t items with r relevant
    after R' relevant items, position a+j holds a relevant item with probability r/t, and
    then has on average R' + 1 + (j-1)(r-1)/(t-1) relevant items at or above it.

    Example:
        >>> # relevant at ranks 1 and 3: (1/1 + 2/3) / 2
        >>> average_precision(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0]]))
        tensor(0.8333)
    """
    return _metric(
        "average_precision",
        average_precision_kernel,
        scores,
        labels,
        mask,
        k,
        empty,
        ties,
        reduction,
        threshold=threshold,
        ideal_labels=ideal_labels,
        ideal_mask=ideal_mask,
    )


@numpy_compatible
def err(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    k: int | None = None,
    max_label: float = 4.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Expected reciprocal rank (Chapelle et al. 2009).

    :math:`\text{ERR@}k = \sum_{r \le k} \frac1r R_{(r)} \prod_{i<r} (1 - R_{(i)})` with stop
    probabilities :math:`R = (2^{y} - 1) / 2^{y_{\max}}`; ``max_label`` is the top grade of
    the label scale (4 for MSLR/Yahoo; a label above it is an error). With
    ``ties="average"`` the exact expectation uses, per tie group, the average product of
    :math:`1-R` over m-item subsets (a stable O(L^2) recursion).

    Example:
        >>> # one grade-4 item first: its stop probability (2^4 - 1) / 2^4
        >>> err(torch.tensor([[2.0, 1.0]]), torch.tensor([[4.0, 0.0]]))
        tensor(0.9375)
    """
    return _metric(
        "err", err_kernel, scores, labels, mask, k, empty, ties, reduction, max_label=max_label
    )


@numpy_compatible
def auc(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    threshold: Threshold = 1.0,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Area under the ROC curve of each list: P(relevant item scores above non-relevant).

    With ``ties="average"`` a tied relevant/non-relevant pair counts 1/2 (scikit-learn's
    ``roc_auc_score``). A list without both a relevant and a non-relevant item follows
    ``empty`` (scikit-learn returns NaN there; use ``empty="skip"``). No cut-off ``k``:
    AUC is a whole-list measure.

    Example:
        >>> auc(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0]]))  # 1 of 2 pairs
        tensor(0.5000)
    """
    return _metric(
        "auc", auc_kernel, scores, labels, mask, None, empty, ties, reduction, threshold=threshold
    )


@numpy_compatible
def pair_accuracy(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    empty: Empty = "zero",
    ties: Ties = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Ordered-pair accuracy: of the pairs with different labels, the share ordered right.

    A pair (i, j) with ``label_i > label_j`` is right when ``score_i > score_j``. Tied
    scores count 1/2 with ``ties="average"``, 0 with ``"pessimistic"`` (Rax's ``opa``), 1
    with ``"optimistic"``, and by input order with ``"stable"``. A list without a pair of
    different labels follows ``empty``. Memory is O(B·L²), computed in chunks of lists.

    Example:
        >>> # pairs (b over a) wrong, (a over c) and (b over c) right
        >>> pair_accuracy(torch.tensor([[3.0, 2.0, 1.0]]), torch.tensor([[1.0, 2.0, 0.0]]))
        tensor(0.6667)
    """
    return _metric(
        "pair_accuracy", pair_accuracy_kernel, scores, labels, mask, None, empty, ties, reduction
    )


@numpy_compatible
def preference_accuracy(
    chosen_scores: Tensor,
    rejected_scores: Tensor,
    *,
    ties: Literal["average", "pessimistic", "optimistic"] = "average",
    reduction: Reduction = "mean",
) -> Tensor:
    """Ranking accuracy of preference pairs: the share with ``chosen > rejected``.

    Chen et al. 2024, "Preference Learning Algorithms Do Not Learn Preference
    Rankings": ``chosen_scores`` and ``rejected_scores`` [N] are a model's scores (e.g.
    log-likelihoods) of the preferred and the rejected response of each pair. A tie
    counts 1/2 (``"average"``), 0 or 1. ``reduction="none"`` gives the credit per pair.

    Example:
        >>> preference_accuracy(torch.tensor([2.0, 1.0, 3.0]), torch.tensor([1.0, 1.0, 4.0]))
        tensor(0.5000, dtype=torch.float64)
    """
    check_reduction(reduction, "preference_accuracy")
    if chosen_scores.shape != rejected_scores.shape:
        raise ValueError(
            f"preference_accuracy: chosen {tuple(chosen_scores.shape)} and rejected "
            f"{tuple(rejected_scores.shape)} shapes differ"
        )
    credit_tie = {"average": 0.5, "pessimistic": 0.0, "optimistic": 1.0}[ties]
    diff = chosen_scores.to(torch.float64) - rejected_scores.to(torch.float64)
    credit = (diff > 0).to(torch.float64) + (diff == 0).to(torch.float64) * credit_tie
    if reduction == "none":
        return credit
    if reduction == "sum":
        return credit.sum()
    return credit.mean() if credit.numel() else credit.sum()


# --------------------------------------------------------------- metrics from ranks
# The same metrics written as functions of each item's rank r_i (1-based, possibly a
# real number) and a top-k weight c_i in [0, 1]. With exact ranks and c_i = [r_i <= k]
# they equal the metrics above with ties="stable"; with smooth ranks and cut-offs
# (rankwise.functional._soft_sorting.soft_rank, smooth_cutoff) they are the differentiable
# approximations used by rankwise.functional._losses.approx (Qin et al. 2010).
def dcg_from_ranks(
    ranks: Tensor, labels: Tensor, mask: Tensor, cutoff: Tensor, *, gain: Gain = "exp2"
) -> tuple[Tensor, Tensor]:
    """Σ gain(y_i) c_i / log2(1 + r_i) per list, and whether the list has a positive gain."""
    g = apply_gain(labels, gain) * mask
    return discounted_gain(g, cutoff * discount(ranks.clamp(min=1.0)))


def ndcg_from_ranks(
    ranks: Tensor,
    labels: Tensor,
    mask: Tensor,
    cutoff: Tensor,
    *,
    k: int | None = None,
    gain: Gain = "exp2",
) -> tuple[Tensor, Tensor]:
    """DCG from ranks divided by the exact IDCG@k (computed from the labels, no gradient)."""
    value, _ = dcg_from_ranks(ranks, labels, mask, cutoff, gain=gain)
    return normalized_by_ideal(value, ideal_dcg(labels, mask, k, gain))


def reciprocal_rank_from_ranks(
    ranks: Tensor, labels: Tensor, mask: Tensor, cutoff: Tensor, *, threshold: Threshold = 1.0
) -> tuple[Tensor, Tensor]:
    """max over relevant items of c_i / r_i (Rax's ``mrr_metric`` form)."""
    rel = _relevance(labels, threshold) & mask
    rr = torch.where(rel, cutoff / ranks.clamp(min=1.0), torch.zeros_like(ranks))
    return rr.amax(dim=1), rel.any(dim=1)


def precision_from_ranks(
    ranks: Tensor,
    labels: Tensor,
    mask: Tensor,
    cutoff: Tensor,
    *,
    k: int | None = None,
    threshold: Threshold = 1.0,
) -> tuple[Tensor, Tensor]:
    """Σ_relevant c_i / min(k, n) per list."""
    rel = (_relevance(labels, threshold) & mask).to(ranks.dtype)
    n = mask.sum(dim=1).to(ranks.dtype)
    denom = n if k is None else torch.clamp(n, max=float(k))
    return (rel * cutoff).sum(dim=1) / denom.clamp(min=1.0), rel.sum(dim=1) > 0


def recall_from_ranks(
    ranks: Tensor, labels: Tensor, mask: Tensor, cutoff: Tensor, *, threshold: Threshold = 1.0
) -> tuple[Tensor, Tensor]:
    """Σ_relevant c_i / (number of relevant items) per list."""
    rel = (_relevance(labels, threshold) & mask).to(ranks.dtype)
    total = rel.sum(dim=1)
    return (rel * cutoff).sum(dim=1) / total.clamp(min=1.0), total > 0


FROM_RANKS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "ndcg": ndcg_from_ranks,
    "dcg": dcg_from_ranks,
    "mrr": reciprocal_rank_from_ranks,
    "precision": precision_from_ranks,
    "recall": recall_from_ranks,
}
