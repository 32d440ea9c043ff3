r"""The LambdaLoss framework (Wang et al., CIKM 2018).

.. math::
    \ell(s, y) = -\sum_{(i, j)} w_{ij} \log_2 \sigma\big(\sigma_s (s_i - s_j)\big)

over pairs with :math:`y_i > y_j` (all pairs of real items for NDCG-Loss1), with the
weights of :mod:`rankwise.functional._losses.lambda_weights` computed from the items'
ranks under the current scores (``"ndcg_loss2pp"`` by default; ``"lambdarank"``,
``"ndcg_loss1"``, ``"ndcg_loss2"``, ``"arp1"``, ``"arp2"``, ``"ranknet"``,
``"label_diff"``, ``"label_diff_pow"``). Gains :math:`2^y - 1` are divided by the list's
ideal DCG@k. ``k`` truncates with ``k_rule``: ``"both"`` (allRank: both items in the
top k) or ``"either"`` (TF-Ranking). The log is base 2 (``log_base="natural"`` for e).

A list's loss is the sum over its pairs (``per_list="sum"``, as the paper and allRank);
``per_list="mean"`` averages. Lists without a selected pair carry no signal.

Relations: ``lambda_weights="ranknet"`` is :func:`ranknet_loss` with ``per_list="sum"`` and a
base-2 log; the pair matrix is processed in row chunks, as every pairwise loss.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor
from torch.nn import functional as nnf

from rankwise.functional._checks import Reduction
from rankwise.functional._losses.common import finish, pair_sums, prepare
from rankwise.functional._losses.lambda_weights import (
    K_RULES,
    LAMBDA_WEIGHTS,
    KRule,
    LambdaWeighting,
    pair_keep,
    pair_weights,
    rank_pairs,
)


def lambda_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    lambda_weights: LambdaWeighting = "ndcg_loss2pp",
    k: int | None = None,
    k_rule: Literal["both", "either"] = "both",
    sigma: float = 1.0,
    mu: float = 10.0,
    log_base: Literal["binary", "natural"] = "binary",
    per_list: Literal["sum", "mean"] = "sum",
    eps: float = 0.0,
) -> Tensor:
    """LambdaLoss (module docstring). ``weights`` [B] or [B, L] (item i's weight per pair).

    ``eps > 0`` floors the pair probability and its weighted power at ``eps``, as allRank
    does (``(sigmoid.clamp(eps) ** w).clamp(eps)``): each pair's loss is then capped at
    ``-log(eps)``. The default 0 leaves the loss unbounded.

    Example:
        >>> s = torch.tensor([[0.5, 0.2, 0.1]])
        >>> y = torch.tensor([[0.0, 1.0, 2.0]])
        >>> float(lambda_loss(s, y)) > float(lambda_loss(-s, y))  # reversed order is better
        True
    """
    LAMBDA_WEIGHTS.choose(lambda_weights, "lambda_loss: lambda_weights")
    if k_rule not in ("both", "either") or k_rule not in K_RULES:
        raise ValueError(f"lambda_loss: k_rule must be 'both' or 'either', got {k_rule!r}")
    if log_base not in ("binary", "natural"):
        raise ValueError(f"lambda_loss: log_base must be 'binary' or 'natural', got {log_base!r}")
    x = prepare("lambda_loss", scores, labels, mask, weights, reduction, k=k)
    # Ranks enter only through the weights: work in predicted order (lambda_weights).
    state = rank_pairs(x.scores, x.labels, x.mask, k=k)
    if eps < 0:
        raise ValueError(f"lambda_loss: eps must be >= 0, got {eps}")
    scale = 1.0 / math.log(2.0) if log_base == "binary" else 1.0
    rule: KRule = k_rule
    cap = -math.log(eps) * scale if eps > 0 else None

    def loss(d: Tensor, y_i: Tensor, y_j: Tensor) -> Tensor:
        nll = nnf.softplus(-sigma * d) * scale
        return nll if cap is None else nll.clamp(max=cap)

    item_w = None if x.item_weights is None else state.gather(x.item_weights)

    def weight_fn(rows: slice) -> Tensor:
        w = pair_weights(state, lambda_weights, rows, k=k, k_rule=rule, mu=mu)
        if item_w is not None:
            w = w * item_w[:, rows].unsqueeze(2)
        return w

    select = LAMBDA_WEIGHTS.meta(lambda_weights).get("pairs", "ordered")
    total, count = pair_sums(
        state.scores,
        state.labels,
        state.mask,
        loss,
        select=select,
        pair_weights=weight_fn,
        pair_keep=lambda rows: pair_keep(state, rows, k, rule),
        cap=cap,
    )
    values = total / count.clamp(min=1) if per_list == "mean" else total
    return finish(values, count > 0, x, reduction)
