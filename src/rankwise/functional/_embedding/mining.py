"""Triplet and pair mining: which (anchor, positive, negative) triplets a loss sees.

Mining reads the closeness matrix without gradient (it selects, it does not weigh).
Triplets are returned as three index tensors ``(anchor, positive, negative)``, ordered by
anchor, then positive, then negative.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

TripletMining = Literal["all", "batch_hard", "hard", "semihard", "easy"]


def all_triplets(pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every (a, p, n) with (a, p) a positive pair and (a, n) a negative pair.

    Example:
        >>> from rankwise.functional import label_masks
        >>> positive, negative = label_masks(torch.tensor([0, 0, 1]))
        >>> [t.tolist() for t in all_triplets(positive, negative)]  # (anchor, positive, negative)
        [[0, 1], [1, 0], [2, 2]]
    """
    valid = pos.unsqueeze(2) & neg.unsqueeze(1)  # [a, p, n]
    a, p, n = valid.nonzero(as_tuple=True)
    return a, p, n


def mine_triplets(
    close: Tensor,
    pos: Tensor,
    neg: Tensor,
    *,
    mining: TripletMining,
    margin: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Triplets selected by ``mining`` from a closeness matrix [N, N] and pair masks.

    With the distance ``d = -closeness`` and ``gap = d_an - d_ap``:

    - ``all``: every valid triplet;
    - ``batch_hard`` (Hermans et al. 2017, "In Defense of the Triplet Loss"): per anchor
      with a positive and a negative, the farthest positive and the closest negative
      (ties: the lowest index);
    - ``hard``: ``gap <= 0`` (the negative is at least as close as the positive);
    - ``semihard`` (Schroff et al. 2015, FaceNet): ``0 < gap <= margin``;
    - ``easy``: ``gap > margin``.

    (``hard``/``semihard``/``easy`` also keep only triplets with ``gap <= margin`` where
    stated, as pytorch-metric-learning's ``TripletMarginMiner``.)

    Example:
        >>> from rankwise.functional import closeness, label_masks
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]); y = torch.tensor([0, 0, 1])
        >>> positive, negative = label_masks(y)
        >>> close = closeness(x)
        >>> a, p, n = mine_triplets(close, positive, negative, mining="batch_hard", margin=0.1)
        >>> (a.tolist(), p.tolist(), n.tolist())  # item 2 has no positive
        ([0, 1], [1, 0], [2, 2])
    """
    close = close.detach()
    if mining == "batch_hard":
        has = pos.any(dim=1) & neg.any(dim=1)
        anchors = has.nonzero(as_tuple=True)[0]
        far_pos = close.masked_fill(~pos, float("inf")).argmin(dim=1)
        near_neg = close.masked_fill(~neg, float("-inf")).argmax(dim=1)
        return anchors, far_pos[anchors], near_neg[anchors]
    a, p, n = all_triplets(pos, neg)
    if mining == "all":
        return a, p, n
    gap = close[a, p] - close[a, n]  # d_an - d_ap
    if mining == "hard":
        keep = gap <= 0
    elif mining == "semihard":
        keep = (gap > 0) & (gap <= margin)
    elif mining == "easy":
        keep = gap > margin
    else:
        raise ValueError(
            f"mine_triplets: mining must be all, batch_hard, hard, semihard or easy, got {mining!r}"
        )
    return a[keep], p[keep], n[keep]


def multi_similarity_mining(
    close: Tensor, pos: Tensor, neg: Tensor, *, epsilon: float
) -> tuple[Tensor, Tensor]:
    """The pair-mining step of the Multi-Similarity loss (Wang et al., CVPR 2019, eq. 4-5).

    A negative pair (i, n) is kept when ``S_in + epsilon > min_p S_ip`` (it is harder
    than the anchor's hardest positive); a positive pair (i, p) is kept when
    ``S_ip - epsilon < max_n S_in``. An anchor with no positive (no negative) keeps no
    negative (no positive) pair. Returns the reduced ``(pos, neg)`` masks.

    Example:
        >>> from rankwise.functional import closeness, label_masks
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]); y = torch.tensor([0, 0, 1])
        >>> positive, negative = label_masks(y)
        >>> close = closeness(x)
        >>> kept_pos, kept_neg = multi_similarity_mining(close, positive, negative, epsilon=0.1)
        >>> bool(kept_pos.sum() <= positive.sum() and kept_neg.sum() <= negative.sum())
        True
    """
    close = close.detach()
    hardest_pos = close.masked_fill(~pos, float("inf")).amin(dim=1, keepdim=True)
    hardest_neg = close.masked_fill(~neg, float("-inf")).amax(dim=1, keepdim=True)
    keep_neg = neg & (close + epsilon > hardest_pos)
    keep_pos = pos & (close - epsilon < hardest_neg)
    return keep_pos, keep_neg
