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
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor
from torch.nn import functional as nnf

from rankwise.functional._checks import Reduction
from rankwise.functional._losses.common import PAIR_CHUNK_ELEMENTS, finish, pair_sums, prepare
from rankwise.functional._losses.lambda_weights import (
    K_RULES,
    LAMBDA_WEIGHTS,
    KRule,
    LambdaWeighting,
    RankedPairs,
    pair_keep,
    pair_weights,
    positional_factor,
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

    fused = (
        lambda_weights in GAIN_GAP_SCHEMES
        and not x.labels.requires_grad
        and (item_w is None or not item_w.requires_grad)
    )
    if fused:
        total, count = _gain_gap_loss(state, lambda_weights, k, rule, mu, sigma, scale, cap, item_w)
        values = total / count.clamp(min=1) if per_list == "mean" else total
        return finish(values, count > 0, x, reduction)
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
        constants=(item_w,),
    )
    values = total / count.clamp(min=1) if per_list == "mean" else total
    return finish(values, count > 0, x, reduction)


#: Weightings of the form |G_i - G_j| x (a function of the two positions), which
#: :class:`_GainGapPairs` computes fused.
GAIN_GAP_SCHEMES = ("lambdarank", "ndcg_loss2", "ndcg_loss2pp")


class _GainGapPairs(torch.autograd.Function):
    """Per-list :math:`\\sum_{i,j} \\operatorname{relu}(G_i - G_j)\\, F_{ij}\\, c_i\\,
    \\operatorname{softplus}(\\sigma (s_j - s_i))` (times ``scale``) for lists in predicted
    order, F a position-only factor ([rows, L] per chunk from ``factor``) and c optional
    item weights, with its gradient taken in the same chunked pass over the pairs. With
    ``cap`` (``eps > 0``) a pair's term is
    :math:`\\min(w \\min(\\ell, \\text{cap}), \\text{cap})`, as in the generic path.

    relu(G_i - G_j) is the gain gap of the pairs with y_i > y_j (gains are strictly
    increasing in the label) and 0 for the others; padding selects nothing. Each chunk
    of rows makes a few [B, rows, L] passes that stay in the cache (the generic path
    makes about 25, through autograd); the reverse pass scales the stored gradient."""

    @staticmethod
    def forward(
        ctx: Any,
        s: Tensor,
        gains: Tensor,
        mask: Tensor,
        factor: Callable[[slice], Tensor],
        item_w: Tensor | None,
        sigma: float,
        scale: float,
        cap: float | None,
        rows_per_chunk: int,
    ) -> Tensor:
        length = s.shape[1]
        # Padding: -inf as i, +inf as j, so every difference with it is -inf (relu: 0).
        g_row = gains.masked_fill(~mask, -math.inf)
        g_col = gains.masked_fill(~mask, math.inf)
        ss = s * sigma
        want_grad = s.requires_grad
        grad = torch.zeros_like(s)
        total = s.new_zeros(s.shape[0])
        for start in range(0, length, rows_per_chunk):
            rows = slice(start, min(start + rows_per_chunk, length))
            w = torch.sub(g_row[:, rows, None], g_col[:, None, :]).relu_()
            w.mul_(factor(rows))
            if item_w is not None:
                w.mul_(item_w[:, rows, None])
            z = torch.sub(ss[:, None, :], ss[:, rows, None])  # sigma (s_j - s_i)
            if cap is None:
                total += torch.einsum("bij,bij->b", w, nnf.softplus(z)).mul_(scale)
            else:  # min(w min(nll, cap), cap): no gradient where either bound holds
                nll = nnf.softplus(z).mul_(scale)
                pair = w * nll.clamp(max=cap)
                keep = (nll <= cap) & (pair <= cap)
                total += pair.clamp_(max=cap).sum(dim=(1, 2))
                w.mul_(keep)
            if want_grad:
                w.mul_(z.sigmoid_())  # d softplus(z) / dz
                grad[:, rows] -= w.sum(dim=2)
                grad += w.sum(dim=1)
        ctx.save_for_backward(grad.mul_(sigma * scale))
        return total

    @staticmethod
    def backward(ctx: Any, grad_total: Tensor) -> tuple[Tensor | None, ...]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "lambda_loss gives first-order gradients only (create_graph=True is not supported)"
            )
        (grad,) = ctx.saved_tensors
        return grad * grad_total.unsqueeze(1), None, None, None, None, None, None, None, None


def _ordered_pairs(labels: Tensor, mask: Tensor) -> Tensor:
    """[B]: the number of pairs of real items with y_i > y_j, from sorted labels."""
    y = labels.masked_fill(~mask, math.inf)
    ordered = y.sort(dim=1).values
    below = torch.searchsorted(ordered, y, side="left")
    return (below * mask).sum(dim=1).to(labels.dtype)


def _gain_gap_loss(
    state: RankedPairs,
    scheme: LambdaWeighting,
    k: int | None,
    rule: KRule,
    mu: float,
    sigma: float,
    scale: float,
    cap: float | None,
    item_w: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """(total, count) of LambdaLoss with a gain-gap weighting (:class:`_GainGapPairs`)."""
    length = state.length

    def rows_factor(rows: slice) -> Tensor:
        f = positional_factor(state, scheme, rows, k=k, k_rule=rule, mu=mu, light_discount=False)
        assert f is not None
        keep = pair_keep(state, rows, k, rule)
        return f if keep is None else f * keep[0]

    # The factor depends on positions only: made once for lists up to 2048 long (16 MiB),
    # per chunk for longer ones (its [L, L] would outgrow the chunks' memory).
    whole = rows_factor(slice(0, length)) if length <= 2048 else None

    def factor(rows: slice) -> Tensor:
        return rows_factor(rows) if whole is None else whole[rows]

    rows = max(1, PAIR_CHUNK_ELEMENTS // max(1, state.scores.shape[0] * length))
    total = _GainGapPairs.apply(  # type: ignore[no-untyped-call]
        state.scores, state.gains, state.mask, factor, item_w, sigma, scale, cap, rows
    )
    count = _ordered_pairs(state.labels, state.mask)
    if k is not None and rule in ("both", "either"):  # both in the top k, or not both beyond
        top = state.mask & (torch.arange(length, device=state.mask.device) < k)
        inside = _ordered_pairs(state.labels, top)
        count = (
            inside if rule == "both" else count - _ordered_pairs(state.labels, state.mask & ~top)
        )
    return total, count
