r"""Pairwise losses: every ordered pair (i, j) of a list with :math:`y_i > y_j`.

Each pair contributes :math:`\ell(s_i - s_j)`; a list's loss is the mean over its pairs
(``per_list="mean"``, default: lists of any length weigh the same) or their sum
(``per_list="sum"``, Burges' RankNet). Lists without an ordered pair carry no signal: 0,
left out of the mean.

Weights: ``weights`` [B] per list, or [B, L] per item (the pair (i, j) takes the weight
of its preferred item i, as Rax); ``pair_weights`` [B, L, L] per pair, e.g. bids or
values for welfare-weighted CTR ranking (Lyu et al. 2023) or lambda weights from
:mod:`rankwise.functional._losses.lambda_weights` (``lambda_weights=`` builds them). The
pair matrix is processed in row chunks whose gradients are taken as they go, so long
lists fit in memory (see :func:`rankwise.functional._losses.common.pair_sums`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as nnf

from rankwise.functional._checks import Reduction
from rankwise.functional._gains import Gain
from rankwise.functional._losses.common import finish, pair_sums, prepare
from rankwise.functional._losses.lambda_weights import (
    KRule,
    LambdaWeighting,
    RankedPairs,
    pair_keep,
    pair_weights,
    rank_pairs,
)

PerList = Literal["mean", "sum"]


def _pairwise(
    name: str,
    pair_loss: Callable[[Tensor, Tensor, Tensor], Tensor],
    scores: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    weights: Tensor | None,
    reduction: Reduction,
    per_list: PerList,
    *,
    select: str = "ordered",
    pair_weight_matrix: Tensor | None = None,
    lambda_weights: LambdaWeighting | None = None,
    k: int | None = None,
    k_rule: KRule = "both",
    normalize: bool = True,
    gain: Gain = "exp2",
    mu: float = 10.0,
    light_discount: bool = False,
) -> Tensor:
    if per_list not in ("mean", "sum"):
        raise ValueError(f"{name}: per_list must be 'mean' or 'sum', got {per_list!r}")
    x = prepare(name, scores, labels, mask, weights, reduction, k=k)
    if pair_weight_matrix is not None and pair_weight_matrix.shape != (
        *x.scores.shape,
        x.scores.shape[1],
    ):
        raise ValueError(
            f"{name}: pair_weights must be [batch, list, list], "
            f"got {tuple(pair_weight_matrix.shape)}"
        )
    matrix = None if pair_weight_matrix is None else pair_weight_matrix.to(x.scores)
    item_w = x.item_weights
    state: RankedPairs | None = None
    s, y, m = x.scores, x.labels, x.mask
    if lambda_weights is not None:
        # Lambda weights depend on ranks: work in predicted order (lambda_weights module docstring).
        state = rank_pairs(x.scores, x.labels, x.mask, k=k, gain=gain, normalize=normalize)
        s, y, m = state.scores, state.labels, state.mask
        item_w = None if item_w is None else state.gather(item_w)
        if matrix is not None:
            length = s.shape[1]
            rows = state.order.unsqueeze(2).expand(-1, -1, length)
            matrix = matrix.gather(1, rows).gather(2, state.order.unsqueeze(1).expand_as(rows))
    weight_fn = _weight_fn(item_w, matrix, state, lambda_weights, k, k_rule, mu, light_discount)
    keep_fn = None if state is None else (lambda rows: pair_keep(state, rows, k, k_rule))
    total, count = pair_sums(
        s,
        y,
        m,
        pair_loss,
        select=select,
        pair_weights=weight_fn,
        pair_keep=keep_fn,
        constants=(item_w, matrix),
    )
    values = total / count.clamp(min=1) if per_list == "mean" else total
    return finish(values, count > 0, x, reduction)


def _weight_fn(
    item_w: Tensor | None,
    matrix: Tensor | None,
    state: RankedPairs | None,
    scheme: LambdaWeighting | None,
    k: int | None,
    k_rule: KRule,
    mu: float,
    light_discount: bool,
) -> Callable[[slice], Tensor | None] | None:
    """Combine per-pair, lambda and per-item weights (all in the order the pairs are
    enumerated in) into one row-chunk weight function."""
    if matrix is None and state is None and item_w is None:
        return None

    def fn(rows: slice) -> Tensor | None:
        w: Tensor | None = None
        if matrix is not None:
            w = matrix[:, rows]
        if state is not None and scheme is not None:
            lw = pair_weights(
                state, scheme, rows, k=k, k_rule=k_rule, mu=mu, light_discount=light_discount
            )
            w = lw if w is None else w * lw
        if item_w is not None:
            iw = item_w[:, rows].unsqueeze(2)
            w = iw if w is None else w * iw
        return w

    return fn


def _logistic(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
    return nnf.softplus(-d)


def ranknet_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    sigma: float = 1.0,
    lambda_weights: Literal["label_diff", "label_diff_pow"] | None = None,
    pair_weights: Tensor | None = None,
    per_list: PerList = "mean",
) -> Tensor:
    r"""RankNet (Burges et al. 2005): :math:`\log(1 + e^{-\sigma (s_i - s_j)})` per pair
    with :math:`y_i > y_j` (the binary cross-entropy of :math:`\sigma(\sigma(s_i - s_j))`
    against 1).

    ``lambda_weights="label_diff"`` weights a pair by :math:`|y_i - y_j|`,
    ``"label_diff_pow"`` by :math:`|y_i^2 - y_j^2|` (allRank's variants; None: 1).

    Example:
        >>> ranknet_loss(torch.tensor([[0., 0.]]), torch.tensor([[1., 0.]]))
        tensor(0.6931)
    """

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        return nnf.softplus(-sigma * d)

    if lambda_weights not in (None, "label_diff", "label_diff_pow"):
        raise ValueError(
            "ranknet_loss: lambda_weights must be None, 'label_diff' or 'label_diff_pow', "
            f"got {lambda_weights!r}"
        )
    return _pairwise(
        "ranknet_loss",
        loss,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        pair_weight_matrix=pair_weights,
        lambda_weights=lambda_weights,
    )


def pairwise_logistic_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    pair_weights: Tensor | None = None,
    lambda_weights: LambdaWeighting | None = None,
    k: int | None = None,
    k_rule: KRule = "discount",
    normalize: bool = False,
    light_discount: bool = False,
    per_list: PerList = "mean",
) -> Tensor:
    r"""Pairwise logistic loss :math:`\log(1 + e^{-(s_i - s_j)})` per ordered pair (TF-Ranking).

    ``lambda_weights`` ("lambdarank", "ndcg_loss2", ... see
    :mod:`~rankwise.functional._losses.lambda_weights`) weights each pair by a metric's
    sensitivity to swapping it; ``k``/``k_rule``/``normalize``/``light_discount`` configure
    them (defaults follow Rax's ``dcg_lambdaweight``/``dcg2_lambdaweight``).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(pairwise_logistic_loss(s, y) < pairwise_logistic_loss(-s, y))  # right order wins
        True
    """
    return _pairwise(
        "pairwise_logistic_loss",
        _logistic,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        pair_weight_matrix=pair_weights,
        lambda_weights=lambda_weights,
        k=k,
        k_rule=k_rule,
        normalize=normalize,
        light_discount=light_discount,
    )


def pairwise_hinge_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    margin: float = 1.0,
    pair_weights: Tensor | None = None,
    lambda_weights: LambdaWeighting | None = None,
    k: int | None = None,
    k_rule: KRule = "discount",
    normalize: bool = False,
    light_discount: bool = False,
    per_list: PerList = "mean",
) -> Tensor:
    r"""Pairwise hinge loss :math:`\max(0, m - (s_i - s_j))` per ordered pair (RankSVM).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(pairwise_hinge_loss(s, y) < pairwise_hinge_loss(-s, y))  # right order wins
        True
    """

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        return torch.relu(margin - d)

    return _pairwise(
        "pairwise_hinge_loss",
        loss,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        pair_weight_matrix=pair_weights,
        lambda_weights=lambda_weights,
        k=k,
        k_rule=k_rule,
        normalize=normalize,
        light_discount=light_discount,
    )


def pairwise_soft_zero_one_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    pair_weights: Tensor | None = None,
    lambda_weights: LambdaWeighting | None = None,
    k: int | None = None,
    k_rule: KRule = "discount",
    normalize: bool = False,
    light_discount: bool = False,
    per_list: PerList = "mean",
) -> Tensor:
    r"""Soft zero-one loss :math:`\sigma(-(s_i - s_j))` per ordered pair: a smooth count of
    mis-ordered pairs (TF-Ranking).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(pairwise_soft_zero_one_loss(s, y) < pairwise_soft_zero_one_loss(-s, y))
        True
    """

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        return torch.sigmoid(-d)

    return _pairwise(
        "pairwise_soft_zero_one_loss",
        loss,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        pair_weight_matrix=pair_weights,
        lambda_weights=lambda_weights,
        k=k,
        k_rule=k_rule,
        normalize=normalize,
        light_discount=light_discount,
    )


def pairwise_mse_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    pair_weights: Tensor | None = None,
    per_list: PerList = "mean",
) -> Tensor:
    r"""Pairwise squared error :math:`((s_i - s_j) - (y_i - y_j))^2` over *all* pairs of
    real items, i = j included (as TF-Ranking and Rax, whose mean counts the diagonal).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(pairwise_mse_loss(s, y) < pairwise_mse_loss(-s, y))  # right order wins
        True
    """

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        return (d - (y_i - y_j)) ** 2

    return _pairwise(
        "pairwise_mse_loss",
        loss,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        select="all",
        pair_weight_matrix=pair_weights,
    )


def pairwise_qr_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    tau: float = 0.5,
    squared: bool = False,
    pair_weights: Tensor | None = None,
    per_list: PerList = "mean",
) -> Tensor:
    r"""Pairwise quantile regression on ordered pairs:
    :math:`\tau\,[\Delta y - \Delta s]_+ + (1-\tau)\,[\Delta s - \Delta y]_+` (each term
    squared when ``squared``), with :math:`\Delta = (\cdot)_i - (\cdot)_j` (Rax).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(pairwise_qr_loss(s, y) < pairwise_qr_loss(-s, y))  # right order wins
        True
    """
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"pairwise_qr_loss: tau must be in (0, 1], got {tau}")

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        dy = y_i - y_j
        under, over = torch.relu(dy - d), torch.relu(d - dy)
        if squared:
            under, over = under**2, over**2
        return tau * under + (1 - tau) * over

    return _pairwise(
        "pairwise_qr_loss",
        loss,
        scores,
        labels,
        mask,
        weights,
        reduction,
        per_list,
        pair_weight_matrix=pair_weights,
    )


def mw_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    threshold: float = 1.0,
    pair_weights: Tensor | None = None,
) -> Tensor:
    r"""Mann-Whitney (AUC surrogate) loss: binary cross-entropy of every positive-negative
    score difference, normalized per list by :math:`|P|\,|N|`:

    :math:`\frac{1}{|P||N|} \sum_{i \in P} \sum_{j \in N} \log(1 + e^{-(s_i - s_j)})`,

    with P the items with ``label >= threshold`` and N the others ("Optimizing What
    Matters: AUC-Driven Learning for Robust Neural Retrieval", 2025). Minimising it
    maximises a smooth Wilcoxon-Mann-Whitney statistic, i.e. the list's AUC
    (:func:`rankwise.functional.auc`). A list without a positive or without a negative item
    carries no signal.

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(mw_loss(s, y) < mw_loss(-s, y))  # right order wins
        True
    """
    x = prepare("mw_loss", scores, labels, mask, weights, reduction)
    binary = (x.labels >= threshold).to(x.scores.dtype)
    matrix = None if pair_weights is None else pair_weights.to(x.scores)
    weight_fn = _weight_fn(x.item_weights, matrix, None, None, None, "both", 10.0, False)
    total, count = pair_sums(
        x.scores,
        binary,
        x.mask,
        _logistic,
        pair_weights=weight_fn,
        constants=(x.item_weights, matrix),
    )
    return finish(total / count.clamp(min=1), count > 0, x, reduction)
