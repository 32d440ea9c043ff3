"""Run fusion on score tensors: normalizations kept separate from fusion methods.

Shapes follow the rest of rankwise with one extra leading axis for the runs being fused:
``scores`` [R, B, L] (run, list, item) and ``mask`` [R, B, L] (True = run ``r`` retrieved
item ``l`` of list ``b``) or [B, L] (every run scored every real item). Values at masked
positions are never read. The fused result is [B, L]; its mask is the union of the runs'
masks (an item retrieved by at least one run).

Normalizations (:data:`NORMALIZATIONS`), applied per run and per list over the items that
run retrieved (Montague & Aslam, "Relevance score normalization for metasearch", CIKM
2001; the set of ranx's ``norm`` options):

- ``"none"``: raw scores;
- ``"min_max"``: ``(s - min) / (max - min)``; a run whose retrieved scores are all equal
  gives them 1 (each is that run's best);
- ``"max"``: ``s / max`` (scores assumed positive);
- ``"sum"``: ``(s - min) / sum(s - min)``; all equal gives ``1 / n``;
- ``"z_score"``: ``(s - mean) / std`` (population std); all equal gives 0;
- ``"rank"``: ``1 - (rank - 1) / n`` with ``rank`` 1-based among the ``n`` items the run
  retrieved (score only matters through the order).

Fusion methods (:data:`FUSION_METHODS`), Fox & Shaw, "Combination of multiple searches"
(TREC-2, 1994), Cormack et al., "Reciprocal rank fusion outperforms Condorcet and
individual rank learning methods" (SIGIR 2009), Aslam & Montague, "Models for
metasearch" (SIGIR 2001). With per-run weights ``w`` (default 1) and a run's normalized
score ``n_r(d)``, 0 when the run did not retrieve ``d``:

- ``"comb_sum"``: ``sum_r w_r n_r(d)``; ``"weighted_sum"`` is the same and requires weights;
- ``"comb_mnz"``: ``|{r : d retrieved by r}| * sum_r w_r n_r(d)``;
- ``"comb_max"``: ``max_r w_r n_r(d)`` over the runs that retrieved ``d``;
- ``"rrf"``: ``sum_r w_r / (k + rank_r(d))`` over the runs that retrieved ``d`` (``k=60``
  as in Cormack et al.); ignores the normalization;
- ``"borda"``: with ``C`` the union of retrieved items of the list, run ``r`` gives its
  item at rank ``i`` (1-based) ``|C| - i + 1`` points and every item it did not retrieve
  the mean of the points left, ``(|C| - n_r + 1) / 2``; ``sum_r w_r points_r(d)``;
  ignores the normalization.

Ranks inside a run break score ties by position along ``L`` (the ``ties="stable"``
convention); :func:`rankwise.runs.fusion.fuse_runs` lays TREC runs out in trec_eval's
order (score descending, then docid descending), so the ranks are trec_eval's.

Complexity: one sort per run and list, ``O(R B L log L)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rankwise.registry import Registry

# A normalization maps (scores, mask, count) [R, B, L] to normalized scores (the values at
# masked positions are zeroed afterwards); count [R, B, 1] is the number retrieved.
#: Score normalizations by name (kind ``"normalization"``).
NORMALIZATIONS: Registry[Tensor] = Registry("normalization", per_call=("scores", "mask", "count"))
# A fusion method is each run's contribution [R, B, L] (normalized score, RRF term, Borda
# points), combined by a weighted sum ("sum"), a weighted sum times the number of runs
# that retrieved the item ("mnz") or a weighted maximum ("max"): the ``combine`` meta.
#: Fusion methods by name (kind ``"fusion_method"``).
FUSION_METHODS: Registry[Tensor] = Registry(
    "fusion_method", per_call=("scores", "mask", "normalization", "k")
)


def check_run_scores(scores: Tensor, mask: Tensor | None, name: str) -> tuple[Tensor, Tensor]:
    """Validate ``scores`` [R, B, L] (or [R, L] for one list) and broadcast ``mask``."""
    if not isinstance(scores, Tensor):
        raise TypeError(f"{name}: scores must be a tensor [runs, lists, items]")
    if scores.dim() == 2:
        scores = scores.unsqueeze(1)
        mask = mask.unsqueeze(-2) if mask is not None else None
    if scores.dim() != 3:
        raise ValueError(
            f"{name}: scores must be [runs, lists, items] (or [runs, items]), "
            f"got {tuple(scores.shape)}"
        )
    if scores.shape[0] == 0:
        raise ValueError(f"{name}: no runs to fuse")
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    if mask.dtype != torch.bool:
        raise ValueError(f"{name}: mask must be a bool tensor (True = retrieved), got {mask.dtype}")
    if mask.dim() == 2:
        mask = mask.unsqueeze(0)
    try:
        mask = mask.expand_as(scores)
    except RuntimeError:
        raise ValueError(
            f"{name}: mask shape {tuple(mask.shape)} does not fit scores {tuple(scores.shape)}"
        ) from None
    dtype = torch.float64 if scores.dtype == torch.float64 else torch.float32
    return scores.to(dtype), mask


def run_ranks(scores: Tensor, mask: Tensor) -> Tensor:
    """1-based rank of every retrieved item within its run and list ([R, B, L]).

    Higher score is better; equal scores keep their order along ``L`` (stable). Masked
    items rank after every retrieved one (their rank is meaningless and never used).
    """
    keyed = scores.masked_fill(~mask, float("-inf"))
    order = torch.argsort(keyed, dim=-1, descending=True, stable=True)
    positions = torch.arange(1, scores.shape[-1] + 1, device=scores.device, dtype=scores.dtype)
    ranks = torch.empty_like(scores)
    ranks.scatter_(-1, order, positions.expand_as(scores).contiguous())
    return ranks


@NORMALIZATIONS.register("none")
def _raw(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """Raw scores."""
    return scores


@NORMALIZATIONS.register("rank")
def _rank(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """``1 - (rank - 1) / n`` among the ``n`` items the run retrieved."""
    ranks = run_ranks(
        scores.reshape(-1, 1, scores.shape[-1]), mask.reshape(-1, 1, scores.shape[-1])
    )
    return 1.0 - (ranks.reshape(scores.shape) - 1.0) / count.clamp_min(1.0)


def _extremes(scores: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    high = scores.masked_fill(~mask, float("-inf")).amax(-1, keepdim=True)
    low = scores.masked_fill(~mask, float("inf")).amin(-1, keepdim=True)
    return high, low


@NORMALIZATIONS.register("min_max")
def _min_max(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """``(scores - min) / (max - min)``; all equal gives 1."""
    high, low = _extremes(scores, mask)
    spread = high - low
    return torch.where(spread > 0, (scores - low) / torch.where(spread > 0, spread, 1.0), 1.0)


@NORMALIZATIONS.register("max")
def _max(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """``scores / max``."""
    high, _ = _extremes(scores, mask)
    return scores / torch.where(high != 0, high, 1.0)


@NORMALIZATIONS.register("sum")
def _sum(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """``(scores - min) / sum(scores - min)``; all equal gives ``1 / n``."""
    _, low = _extremes(scores, mask)
    shifted = torch.where(
        mask, scores - low, torch.zeros((), dtype=scores.dtype, device=scores.device)
    )
    total = shifted.sum(-1, keepdim=True)
    return torch.where(total > 0, shifted / torch.where(total > 0, total, 1.0), 1.0 / count)


@NORMALIZATIONS.register("z_score")
def _z_score(scores: Tensor, mask: Tensor, count: Tensor) -> Tensor:
    """``(scores - mean) / std`` (population std); all equal gives 0."""
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    mean = torch.where(mask, scores, zero).sum(-1, keepdim=True) / count.clamp_min(1.0)
    var = torch.where(mask, (scores - mean) ** 2, zero).sum(-1, keepdim=True) / count.clamp_min(1.0)
    std = var.sqrt()
    return torch.where(std > 0, (scores - mean) / torch.where(std > 0, std, 1.0), 0.0)


def normalize_scores(
    scores: Tensor, *, mask: Tensor | None = None, method: str = "min_max"
) -> Tensor:
    """Normalize every run's scores per list (see the module docstring for definitions).

    ``scores`` [R, B, L] (or [B, L] / [L] for a single run: any leading axes work, the
    statistics are taken over the last one among ``mask``-ed-in items). Masked positions
    come back as 0. A list a run retrieved nothing for stays all 0.
    """
    normalization = NORMALIZATIONS.choose(method, "normalize_scores: method")
    dtype = torch.float64 if scores.dtype == torch.float64 else torch.float32
    s = scores.to(dtype)
    if mask is None:
        mask = torch.ones_like(s, dtype=torch.bool)
    mask = mask.expand_as(s)
    count = mask.sum(-1, keepdim=True).to(dtype)
    out = normalization(s, mask, count)
    return torch.where(mask, out, torch.zeros((), dtype=dtype, device=s.device))


def _weights(weights: Sequence[float] | Tensor | None, runs: int, like: Tensor) -> Tensor:
    if weights is None:
        return torch.ones(runs, dtype=like.dtype, device=like.device)
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device).flatten()
    if w.numel() != runs:
        raise ValueError(f"fuse: {w.numel()} weights given for {runs} runs")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"fuse: weights must be finite and >= 0, got {w.tolist()}")
    return w


def fuse(
    scores: Tensor,
    *,
    mask: Tensor | None = None,
    method: str = "comb_sum",
    normalization: str = "min_max",
    weights: Sequence[float] | Tensor | None = None,
    k: float = 60.0,
) -> tuple[Tensor, Tensor]:
    """Fuse ``R`` runs' scores into one ranking per list.

    Args:
        scores: [R, B, L] (or [R, L]) scores, higher is better.
        mask: [R, B, L] or [B, L] bool, True where the run retrieved the item.
        method: one of :data:`FUSION_METHODS` (definitions in the module docstring).
        normalization: one of :data:`NORMALIZATIONS`, applied before score-based methods;
            rank-based methods (``rrf``, ``borda``) use only each run's order.
        weights: [R] non-negative per-run weights (required for ``weighted_sum``).
        k: RRF's constant (``rrf`` only); must be >= 0.

    Returns:
        ``(fused [B, L], mask [B, L])``: the fused scores (0 where no run retrieved the
        item) and the union mask. Sort ``fused`` descending to get the fused ranking.
    """
    if method == "weighted_sum" and weights is None:
        raise ValueError("fuse: method 'weighted_sum' needs weights (one per run)")
    s, m = check_run_scores(scores, mask, "fuse")
    contribution = run_contributions(s, m, method=method, normalization=normalization, k=k)
    return combine_contributions(contribution, m, method=method, weights=weights)


def _normalized(scores: Tensor, mask: Tensor, normalization: str, k: float) -> Tensor:
    """The run's normalized scores (what the score-based methods combine)."""
    return normalize_scores(scores, mask=mask, method=normalization)


for _name, _combine, _doc in (
    ("comb_sum", "sum", "CombSUM: the sum of the (weighted) normalized scores."),
    ("weighted_sum", "sum", "CombSUM with required per-run weights."),
    ("comb_mnz", "mnz", "CombMNZ: CombSUM times the number of runs that retrieved the item."),
    ("comb_max", "max", "CombMAX: the largest (weighted) normalized score."),
):
    FUSION_METHODS.add(_name, _normalized, _doc, combine=_combine)


@FUSION_METHODS.register("rrf", combine="sum")
def _rrf(scores: Tensor, mask: Tensor, normalization: str, k: float) -> Tensor:
    """Reciprocal rank fusion: ``1 / (k + rank)`` (the normalization is not used)."""
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    return torch.where(mask, 1.0 / (k + run_ranks(scores, mask)), zero)


@FUSION_METHODS.register("borda", combine="sum")
def _borda(scores: Tensor, mask: Tensor, normalization: str, k: float) -> Tensor:
    """Borda points over the union of retrieved items (the normalization is not used)."""
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    ranks = run_ranks(scores, mask)
    union = mask.any(0)
    candidates = union.sum(-1, keepdim=True).to(scores.dtype).unsqueeze(0)  # |C| [1, B, 1]
    retrieved = mask.sum(-1, keepdim=True).to(scores.dtype)  # n_r [R, B, 1]
    unranked = (candidates - retrieved + 1.0) / 2.0
    points = torch.where(mask, candidates - ranks + 1.0, unranked)
    return torch.where(union.unsqueeze(0), points, zero)


def run_contributions(
    scores: Tensor,
    mask: Tensor,
    *,
    method: str,
    normalization: str = "min_max",
    k: float = 60.0,
) -> Tensor:
    """Each run's unweighted contribution [R, B, L] to ``method`` (checked ``scores`` and
    ``mask`` [R, B, L]): the normalized score, ``1 / (k + rank)`` for RRF, or the Borda
    points. It does not depend on the weights, so weight tuning computes it once."""
    contribution = FUSION_METHODS.choose(method, "fuse: method")
    NORMALIZATIONS.choose(normalization, "fuse: normalization")
    if k < 0:
        raise ValueError(f"fuse: rrf k must be >= 0, got {k}")
    return contribution(scores, mask, normalization, k)


def combine_contributions(
    contribution: Tensor,
    mask: Tensor,
    *,
    method: str,
    weights: Sequence[float] | Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Weight and combine :func:`run_contributions` into ``(fused [B, L], union [B, L])``."""
    combine = FUSION_METHODS.meta(method)["combine"]
    w = _weights(weights, contribution.shape[0], contribution).view(-1, 1, 1)
    weighted = w * contribution
    union = mask.any(0)
    if combine == "max":
        fused = weighted.masked_fill(~mask, float("-inf")).amax(0)
    else:
        fused = weighted.sum(0)
        if combine == "mnz":
            fused = fused * mask.sum(0).to(contribution.dtype)
    return torch.where(union, fused, torch.zeros((), dtype=fused.dtype, device=fused.device)), union
