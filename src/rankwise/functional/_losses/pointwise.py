"""Pointwise losses: each item on its own (mean over a list's real items)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as nnf

from rankwise.functional._checks import Reduction
from rankwise.functional._losses.common import finish, prepare


def mse_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    scale: float = 1.0,
    root: bool = False,
) -> Tensor:
    r"""Mean squared error per list: :math:`\frac1n \sum_i (y_i - c\, s_i)^2`.

    ``scale`` c maps scores to the label scale (allRank's ``pointwise_rmse`` uses
    c = number of levels with scores in [0, 1]); ``root=True`` takes the square root per
    list (RMSE). Item weights multiply the squared errors; a list needs one real item.

    Example:
        >>> mse_loss(torch.tensor([[1., 0.]]), torch.tensor([[2., 0.]]))
        tensor(0.5000)
    """
    x = prepare("mse_loss", scores, labels, mask, weights, reduction)
    err = (x.labels - scale * x.scores) ** 2
    if x.item_weights is not None:
        err = err * x.item_weights
    err = err.masked_fill(~x.mask, 0.0)
    n = x.mask.sum(dim=1).clamp(min=1).to(err.dtype)
    values = err.sum(dim=1) / n
    if root:
        values = torch.sqrt(values.clamp(min=torch.finfo(values.dtype).tiny))
    return finish(values, x.has_items, x, reduction)


def sigmoid_bce_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    threshold: float | None = None,
    from_logits: bool = True,
    per_list: str = "mean",
) -> Tensor:
    r"""Sigmoid binary cross-entropy per item, averaged (or summed) over a list.

    :math:`-[y \log\sigma(s) + (1-y)\log(1-\sigma(s))]` with targets y in [0, 1]: soft
    targets are used as they are, graded labels are binarised with ``threshold``
    (relevant when ``label >= threshold``; Rax's ``pointwise_sigmoid_loss`` clips labels to
    [0, 1] instead, which equals ``threshold=None`` for 0/1 labels). ``from_logits=False``
    takes probabilities (allRank's ``bce``). ``per_list="sum"`` sums over items.

    Example:
        >>> round(float(sigmoid_bce_loss(torch.tensor([[0.0]]), torch.tensor([[1.0]]))), 4)  # log 2
        0.6931
    """
    x = prepare("sigmoid_bce_loss", scores, labels, mask, weights, reduction)
    y = (
        (x.labels >= threshold).to(x.scores.dtype)
        if threshold is not None
        else x.labels.clamp(0, 1)
    )
    if from_logits:
        loss = nnf.binary_cross_entropy_with_logits(x.scores, y, reduction="none")
    else:
        p = x.scores.clamp(
            min=torch.finfo(x.scores.dtype).eps, max=1 - torch.finfo(x.scores.dtype).eps
        )
        p = torch.where(x.mask, p, torch.full_like(p, 0.5))
        loss = -(y * torch.log(p) + (1 - y) * torch.log1p(-p))
    if x.item_weights is not None:
        loss = loss * x.item_weights
    loss = loss.masked_fill(~x.mask, 0.0)
    values = loss.sum(dim=1)
    if per_list == "mean":
        values = values / x.mask.sum(dim=1).clamp(min=1).to(values.dtype)
    elif per_list != "sum":
        raise ValueError(f"sigmoid_bce_loss: per_list must be 'mean' or 'sum', got {per_list!r}")
    return finish(values, x.has_items, x, reduction)


def ordinal_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    from_logits: bool = True,
) -> Tensor:
    r"""Ordinal regression loss (allRank's formulation).

    ``scores`` [B, L, n] hold one output per grade threshold: output t predicts whether
    ``label >= t`` (t = 1..n). The loss is the binary cross-entropy summed over the n
    thresholds, averaged over a list's real items. ``from_logits=False`` takes
    probabilities (as allRank, whose model ends with a sigmoid).

    Example:
        >>> # 2 thresholds for grades 0-2; logits strongly past both for an item of grade 2
        >>> levels = torch.tensor([[[9.0, 9.0]]])
        >>> float(ordinal_loss(levels, torch.tensor([[2.0]]))) < 1e-3
        True
    """
    if scores.dim() != 3:
        raise ValueError(
            f"ordinal_loss: scores must be [batch, list, levels], got {tuple(scores.shape)}"
        )
    n = scores.shape[2]
    if scores.shape[1] == 0:  # no item: one masked one (as check_list_shapes does)
        scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1, n)], dim=1)
        labels = labels.new_zeros(labels.shape[0], 1)
        mask = torch.zeros(labels.shape, dtype=torch.bool, device=scores.device)
        weights = weights if weights is None or weights.dim() == 1 else labels.clone()
    flat = scores.reshape(scores.shape[0], -1)
    x = prepare(
        "ordinal_loss",
        flat,
        labels.repeat_interleave(n, dim=1),
        None if mask is None else mask.repeat_interleave(n, dim=1),
        None if weights is None or weights.dim() == 1 else weights.repeat_interleave(n, dim=1),
        reduction,
    )
    if weights is not None and weights.dim() == 1:
        x.list_weights = weights.to(x.scores)
    s = x.scores.reshape(scores.shape)
    y = x.labels.reshape(scores.shape)
    m = x.mask.reshape(scores.shape)[:, :, 0]
    thresholds = torch.arange(1, n + 1, dtype=s.dtype, device=s.device)
    target = (y >= thresholds).to(s.dtype)
    if from_logits:
        loss = nnf.binary_cross_entropy_with_logits(s, target, reduction="none")
    else:
        eps = torch.finfo(s.dtype).eps
        p = torch.where(m.unsqueeze(2), s.clamp(eps, 1 - eps), torch.full_like(s, 0.5))
        loss = -(target * torch.log(p) + (1 - target) * torch.log1p(-p))
    per_item = loss.sum(dim=2).masked_fill(~m, 0.0)
    if x.item_weights is not None:
        per_item = per_item * x.item_weights.reshape(scores.shape)[:, :, 0]
    values = per_item.sum(dim=1) / m.sum(dim=1).clamp(min=1).to(s.dtype)
    return finish(values, m.any(dim=1), x, reduction)
