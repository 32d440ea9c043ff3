"""Metric-learning and contrastive losses on embeddings [N, D] with integer class labels.

Conventions (shared by every function here):

- ``embeddings`` [N, D] float, ``labels`` [N] integer class ids. A positive pair is an
  ordered pair (i, j), i != j, with the same label; a negative pair has different labels.
  The batch is its own reference set (an item is never paired with itself).
- ``similarity`` chooses the closeness (:func:`rankwise.functional.closeness`): cosine
  (default for similarity losses), dot, euclidean (default for the triplet and
  contrastive losses, on L2-normalized embeddings as pytorch-metric-learning's
  ``LpDistance``) or squared Euclidean.
- ``reduction``: the library's words. ``"none"`` gives the loss elements (per anchor,
  pair or triplet, as each function says), ``"sum"`` their sum, and ``"mean"`` their mean
  over the elements that carry signal: every element, or for the margin losses
  (triplet, contrastive, circle) and SupCon the elements > 0, as each function says.
  These are pytorch-metric-learning's reductions, so the values match it
  (``tests/golden/test_embedding_golden.py``).
- What an anchor without a positive or a negative pair contributes: losses defined on
  positive and negative pairs together (SupCon, NT-Xent, Circle, triplets) get nothing
  from it (0, and it does not count in a ``"mean"``); losses with separate positive and
  negative terms (Multi-Similarity, contrastive) keep the term that exists. So a batch
  of one class gives 0 for the former, as pytorch-metric-learning does, and a batch
  without any pair gives 0 with a zero gradient, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rankwise.functional._checks import (
    Reduction,
    check_class_labels,
    check_embeddings,
    check_reduction,
)
from rankwise.functional._embedding.mining import (
    TripletMining,
    mine_triplets,
    multi_similarity_mining,
)
from rankwise.functional._embedding.similarity import (
    Similarity,
    closeness,
    is_distance,
    label_masks,
    masked_logsumexp,
    reduce_elements,
)

_LOG_10 = math.log(10.0)


def _setup(
    name: str,
    embeddings: Tensor,
    labels: Tensor,
    reduction: str,
    similarity: Similarity,
    normalize: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    check_embeddings(embeddings, name)
    check_class_labels(labels, embeddings.shape[0], name)
    check_reduction(reduction, name)
    close = closeness(embeddings, similarity=similarity, normalize=normalize)
    pos, neg = label_masks(labels.to(embeddings.device))
    return close, pos, neg


def multi_similarity_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    mining_epsilon: float | None = None,
    similarity: Similarity = "cosine",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Multi-Similarity loss (Wang et al., "Multi-Similarity Loss with General Pair
    Weighting for Deep Metric Learning", CVPR 2019).

    Per anchor i with positive set :math:`P_i` and negative set :math:`N_i`:

    :math:`\frac{1}{\alpha}\log\big(1 + \sum_{p \in P_i} e^{-\alpha (S_{ip} - \lambda)}\big)
    + \frac{1}{\beta}\log\big(1 + \sum_{n \in N_i} e^{\beta (S_{in} - \lambda)}\big)`,

    :math:`\lambda` = ``base``; an empty set contributes 0. ``mining_epsilon`` (the paper
    uses 0.1) applies the paper's pair-mining step first
    (:func:`rankwise.functional.multi_similarity_mining`); None uses every pair, as
    pytorch-metric-learning's ``MultiSimilarityLoss`` without a miner. Elements: one per
    anchor (all N, ``mean`` by default).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(multi_similarity_loss(x, y) < multi_similarity_loss(mixed, y))
        True
    """
    close, pos, neg = _setup(
        "multi_similarity_loss", embeddings, labels, reduction, similarity, normalize
    )
    if mining_epsilon is not None:
        pos, neg = multi_similarity_mining(close, pos, neg, epsilon=mining_epsilon)
    pos_term = masked_logsumexp(-alpha * (close - base), pos, add_one=True) / alpha
    neg_term = masked_logsumexp(beta * (close - base), neg, add_one=True) / beta
    return reduce_elements(pos_term + neg_term, reduction)


def circle_pair_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    pos_mask: Tensor | None = None,
    neg_mask: Tensor | None = None,
    margin: float = 0.25,
    gamma: float = 256.0,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Circle loss in its pair form (Sun et al., "Circle Loss: A Unified Perspective of
    Pair Similarity Optimization", CVPR 2020): for similarity scores of each row's positive
    pairs ``pos_scores`` [B, P] and negative pairs ``neg_scores`` [B, M] (e.g. a reranker's
    scores of a query's relevant and irrelevant passages, as ListConRanker), per row

    :math:`\operatorname{softplus}\big(\log\sum_p e^{-\gamma a_p (s_p - \Delta_p)}
    + \log\sum_n e^{\gamma a_n (s_n - \Delta_n)}\big)`,

    :math:`a_p = [1 + m - s_p]_+`, :math:`a_n = [s_n + m]_+` (treated as constants in the
    gradient, as in the paper), :math:`\Delta_p = 1 - m`, :math:`\Delta_n = m`. The masks
    mark real entries; a row without a positive or a negative contributes 0. Elements:
    one per row.

    Example:
        >>> good = circle_pair_loss(torch.tensor([[0.9]]), torch.tensor([[0.1]]), gamma=32.0)
        >>> bad = circle_pair_loss(torch.tensor([[0.1]]), torch.tensor([[0.9]]), gamma=32.0)
        >>> bool(good < bad)
        True
    """
    check_reduction(reduction, "circle_pair_loss")
    if pos_scores.dim() != 2 or neg_scores.dim() != 2 or pos_scores.shape[0] != neg_scores.shape[0]:
        raise ValueError(
            "circle_pair_loss: pos_scores [B, P] and neg_scores [B, M] must share B, got "
            f"{tuple(pos_scores.shape)} and {tuple(neg_scores.shape)}"
        )
    pos_mask = torch.ones_like(pos_scores, dtype=torch.bool) if pos_mask is None else pos_mask
    neg_mask = torch.ones_like(neg_scores, dtype=torch.bool) if neg_mask is None else neg_mask
    alpha_p = torch.relu(1 + margin - pos_scores.detach())
    alpha_n = torch.relu(neg_scores.detach() + margin)
    logit_p = -gamma * alpha_p * (pos_scores - (1 - margin))
    logit_n = gamma * alpha_n * (neg_scores - margin)
    lse_p = masked_logsumexp(logit_p, pos_mask)
    lse_n = masked_logsumexp(logit_n, neg_mask)
    has = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    values = F.softplus(torch.where(has, lse_p + lse_n, torch.zeros_like(lse_p)))
    return reduce_elements(values * has, reduction, over="nonzero")


def circle_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    margin: float = 0.25,
    gamma: float = 256.0,
    similarity: Similarity = "cosine",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    """Circle loss with class labels: :func:`circle_pair_loss` with each anchor's row of the
    similarity matrix split into its positive and negative pairs. Elements: one per anchor;
    ``"mean"`` averages over the anchors with a non-zero loss, as pytorch-metric-learning's
    ``CircleLoss``.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(circle_loss(x, y, gamma=32.0) < circle_loss(mixed, y, gamma=32.0))
        True
    """
    close, pos, neg = _setup("circle_loss", embeddings, labels, reduction, similarity, normalize)
    return circle_pair_loss(
        close, close, pos_mask=pos, neg_mask=neg, margin=margin, gamma=gamma, reduction=reduction
    )


def triplet_margin_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    margin: float = 0.05,
    mining: TripletMining = "all",
    mining_margin: float | None = None,
    triplets: tuple[Tensor, Tensor, Tensor] | None = None,
    swap: bool = False,
    smooth: bool = False,
    similarity: Similarity = "euclidean",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Triplet margin loss (Schroff et al., FaceNet, CVPR 2015) with mining.

    Per triplet (a, p, n): :math:`[d_{ap} - d_{an} + \text{margin}]_+`
    (``smooth``: :math:`\operatorname{softplus}` of the same); ``swap`` (Balntas et al.
    2016) uses :math:`\min(d_{an}, d_{pn})`. For a similarity metric, d is the negative
    similarity. Triplets come from ``triplets`` (anchor, positive, negative index tensors)
    or are mined by ``mining`` ("all", "batch_hard", "hard", "semihard", "easy";
    :func:`~rankwise.functional._embedding.mining.mine_triplets`, with ``mining_margin`` defaulting
    to ``margin``). Elements: one per triplet; ``"mean"`` averages over the triplets that
    violate the margin (as pytorch-metric-learning).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(triplet_margin_loss(x, y, margin=0.2) < triplet_margin_loss(mixed, y, margin=0.2))
        True
    """
    close, pos, neg = _setup(
        "triplet_margin_loss", embeddings, labels, reduction, similarity, normalize
    )
    if triplets is None:
        mm = margin if mining_margin is None else mining_margin
        a, p, n = mine_triplets(close, pos, neg, mining=mining, margin=mm)
    else:
        a, p, n = (t.to(close.device) for t in triplets)
    d_ap = -close[a, p]
    d_an = -close[a, n]
    if swap:
        d_an = torch.minimum(d_an, -close[p, n])
    violation = d_ap - d_an + margin
    values = F.softplus(violation) if smooth else torch.relu(violation)
    if values.numel() == 0:
        return reduce_elements(embeddings.sum() * 0 + values, reduction, over="nonzero")
    return reduce_elements(values, reduction, over="nonzero")


def contrastive_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    similarity: Similarity = "euclidean",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Contrastive (margin) loss (Hadsell, Chopra & LeCun, CVPR 2006).

    Distances: positive pairs :math:`[d - m_+]_+`, negative pairs :math:`[m_- - d]_+`;
    similarities: positive :math:`[m_+ - s]_+`, negative :math:`[s - m_-]_+`. The positive
    and negative parts are reduced separately and summed (pytorch-metric-learning's
    convention; with ``"mean"`` each part averages over its active pairs). With
    ``"none"`` returns the positive-pair values followed by the negative-pair values.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(contrastive_loss(x, y) < contrastive_loss(mixed, y))
        True
    """
    close, pos, neg = _setup(
        "contrastive_loss", embeddings, labels, reduction, similarity, normalize
    )
    if is_distance(similarity):
        dist = -close
        pos_values = torch.relu(dist[pos] - pos_margin)
        neg_values = torch.relu(neg_margin - dist[neg])
    else:
        pos_values = torch.relu(pos_margin - close[pos])
        neg_values = torch.relu(close[neg] - neg_margin)
    if reduction == "none":
        return torch.cat([pos_values, neg_values])
    zero = embeddings.sum() * 0
    pos_part = reduce_elements(pos_values, reduction, over="nonzero")
    return zero + pos_part + reduce_elements(neg_values, reduction, over="nonzero")


def nt_xent_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    temperature: float = 0.07,
    similarity: Similarity = "cosine",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""NT-Xent / InfoNCE with class labels (Chen et al., SimCLR 2020; van den Oord et al.
    2018): per positive pair (a, p),

    :math:`-\log \frac{e^{S_{ap}/\tau}}{e^{S_{ap}/\tau} + \sum_{n \in N_a} e^{S_{an}/\tau}}`.

    Other positives of a are not in the denominator. Elements: one per positive pair
    (ordered, so each unordered pair counts twice); an anchor without a negative gives 0.
    Computed with log-sum-exp, so it stays finite for any temperature.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(nt_xent_loss(x, y, temperature=0.5) < nt_xent_loss(mixed, y, temperature=0.5))
        True
    """
    close, pos, neg = _setup("nt_xent_loss", embeddings, labels, reduction, similarity, normalize)
    logits = close / temperature
    lse_neg = masked_logsumexp(logits, neg)  # [N], -inf without negatives
    a, p = pos.nonzero(as_tuple=True)
    s_ap = logits[a, p]
    values = torch.logaddexp(s_ap, lse_neg[a]) - s_ap
    if values.numel() == 0:
        values = embeddings.sum() * 0 + values
    return reduce_elements(values, reduction)


def supcon_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    temperature: float = 0.1,
    similarity: Similarity = "cosine",
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Supervised contrastive loss SupCon (Khosla et al., NeurIPS 2020, :math:`L^{sup}_{out}`).

    Per anchor i with positives :math:`P_i` (empty: 0):
    :math:`-\frac{1}{|P_i|}\sum_{p \in P_i}\big[S_{ip}/\tau
    - \log\sum_{j \ne i} e^{S_{ij}/\tau}\big]`.
    Elements: one per anchor; an anchor without a positive or without a negative pair
    contributes 0 (a batch of one class gives 0, as pytorch-metric-learning); ``"mean"``
    averages over the anchors with a loss > 0 (pytorch-metric-learning's convention).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]  # the same points with the classes mixed up
        >>> bool(supcon_loss(x, y) < supcon_loss(mixed, y))
        True
    """
    close, pos, neg = _setup("supcon_loss", embeddings, labels, reduction, similarity, normalize)
    logits = close / temperature
    log_denominator = masked_logsumexp(logits, pos | neg)
    n_pos = pos.sum(dim=1)
    log_prob = (logits - log_denominator.unsqueeze(1)).masked_fill(~pos, 0.0)
    values = -log_prob.sum(dim=1) / n_pos.clamp(min=1).to(logits.dtype)
    # an anchor without a negative pair (a batch of one class) contributes nothing
    values = values.masked_fill(~neg.any(dim=1), 0.0)
    return reduce_elements(values, reduction, over="nonzero")


def info_nce_loss(
    queries: Tensor,
    keys: Tensor,
    *,
    positives: Tensor | None = None,
    temperature: float = 0.07,
    similarity: Similarity = "cosine",
    symmetric: bool = False,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""InfoNCE over a query/key batch (van den Oord et al. 2018; CLIP's loss with
    ``symmetric``): query i's positive is key ``positives[i]`` (default: key i), every other
    key is a negative, :math:`-\log \operatorname{softmax}_j(S_{ij}/\tau)_{\text{pos}(i)}`.

    ``symmetric`` averages the query-to-key and key-to-query losses (needs N = M and the
    default positives). Elements: one per query (``none`` with ``symmetric``: [2, N]).
    Dense: memory N x M; :func:`~rankwise.functional._embedding.tiled.tiled_info_nce_loss` gives the
    same value and gradient block by block.

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> bool(info_nce_loss(q, q) < info_nce_loss(q, q.flip(0)))  # matching keys cost less
        True
    """
    check_embeddings(queries, "info_nce_loss", "queries")
    check_embeddings(keys, "info_nce_loss", "keys")
    check_reduction(reduction, "info_nce_loss")
    target = _positives(positives, queries.shape[0], keys.shape[0], symmetric, "info_nce_loss")
    logits = (
        closeness(queries, keys, similarity=similarity, normalize=similarity == "cosine")
        / temperature
    )
    values = F.cross_entropy(logits, target.to(logits.device), reduction="none")
    if symmetric:
        back = F.cross_entropy(logits.T, target.to(logits.device), reduction="none")
        if reduction == "none":
            return torch.stack([values, back])
        return (reduce_elements(values, reduction) + reduce_elements(back, reduction)) / 2
    return reduce_elements(values, reduction)


def _positives(positives: Tensor | None, n: int, m: int, symmetric: bool, name: str) -> Tensor:
    if positives is None:
        if n > m:
            raise ValueError(f"{name}: {n} queries but only {m} keys; pass positives")
        return torch.arange(n)
    if symmetric:
        raise ValueError(f"{name}: symmetric needs the default positives (key i for query i)")
    if positives.shape != (n,) or positives.is_floating_point():
        raise ValueError(f"{name}: positives must be integer [N] with N={n}")
    if n and (int(positives.min()) < 0 or int(positives.max()) >= m):
        raise ValueError(f"{name}: positives must index the {m} keys")
    return positives


def siglip_loss(
    x: Tensor,
    y: Tensor,
    *,
    log_temperature: Tensor | float = _LOG_10,
    bias: Tensor | float = -10.0,
    normalize: bool = True,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Sigmoid pairwise loss of SigLIP (Zhai et al., "Sigmoid Loss for Language Image
    Pre-Training", ICCV 2023).

    For paired batches ``x``, ``y`` [N, D] (pair i matches, every other pair does not),
    logits :math:`z_{ij} = t\,\langle x_i, y_j\rangle + b` with :math:`t = e^{t'}`:
    :math:`-\frac{1}{N}\sum_{i,j}\log\sigma(\ell_{ij} z_{ij})`, :math:`\ell_{ij} = 1` if
    i = j else -1. ``log_temperature`` t' and ``bias`` b are learnable in
    :class:`rankwise.losses.SigLIPLoss` (initialized to log 10 and -10 as the paper).
    Elements: one per row i (the sum over j); ``mean`` divides by N as the paper.

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> bool(siglip_loss(q, q) < siglip_loss(q, q.flip(0)))
        True
    """
    check_embeddings(x, "siglip_loss", "x")
    check_embeddings(y, "siglip_loss", "y")
    check_reduction(reduction, "siglip_loss")
    if x.shape != y.shape:
        raise ValueError(f"siglip_loss: x and y must have the same shape, got {x.shape}, {y.shape}")
    if normalize:
        x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    t = torch.as_tensor(log_temperature, dtype=x.dtype, device=x.device).exp()
    logits = (x @ y.T) * t + torch.as_tensor(bias, dtype=x.dtype, device=x.device)
    sign = 2 * torch.eye(x.shape[0], dtype=x.dtype, device=x.device) - 1
    values = -F.logsigmoid(sign * logits).sum(dim=1)
    return reduce_elements(values, reduction)


def alignment_loss(x: Tensor, y: Tensor, *, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Alignment (Wang & Isola, "Understanding Contrastive Representation Learning through
    Alignment and Uniformity on the Hypersphere", ICML 2020):
    :math:`\mathbb{E}_i \|x_i - y_i\|_2^\alpha` over positive pairs (rows of ``x``, ``y``).

    Example:
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> alignment_loss(q, q)  # identical pairs are perfectly aligned
        tensor(0.)
    """
    check_embeddings(x, "alignment_loss", "x")
    if x.shape != y.shape:
        raise ValueError(
            f"alignment_loss: x and y must have the same shape, got {x.shape}, {y.shape}"
        )
    if normalize:
        x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    value: Tensor = (x - y).norm(dim=1).pow(alpha).mean()
    return value


def uniformity_loss(x: Tensor, *, t: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Uniformity (Wang & Isola 2020): :math:`\log \mathbb{E}_{i<j} e^{-t\|x_i - x_j\|_2^2}`,
    lower is more uniform on the sphere. Needs at least 2 rows.

    Example:
        >>> spread = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
        >>> bool(uniformity_loss(spread) < uniformity_loss(torch.tensor([[1.0, 0.0], [0.9, 0.1]])))
        True
    """
    check_embeddings(x, "uniformity_loss", "x")
    if x.shape[0] < 2:
        raise ValueError("uniformity_loss: needs at least 2 embeddings")
    if normalize:
        x = F.normalize(x, dim=-1)
    sq = torch.pdist(x).square()
    return torch.logsumexp(-t * sq, dim=0) - math.log(sq.numel())


def dispersive_loss(z: Tensor, *, temperature: float = 1.0, normalize: bool = False) -> Tensor:
    r"""Dispersive loss (Wang & He, "Diffuse and Disperse: Image Generation with
    Representation Regularization", 2025): an InfoNCE-style regularizer with no positive
    pairs, :math:`\log \mathbb{E}_{i<j} e^{-\|z_i - z_j\|_2^2/\tau}`, which pushes a batch's
    representations apart. ``z`` [N, ...] is flattened per item.

    Example:
        >>> apart, close = torch.tensor([[1.0], [-1.0]]), torch.tensor([[1.0], [0.9]])
        >>> bool(dispersive_loss(apart) < dispersive_loss(close))
        True
    """
    flat = z.reshape(z.shape[0], -1)
    return uniformity_loss(flat, t=1.0 / temperature, normalize=normalize)


class _StraightThroughStep(torch.autograd.Function):
    """``1[x >= threshold]`` forward; a constant slope backward (a straight-through
    estimator, as the contextual-similarity paper's neighbourhood indicator)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, threshold: Tensor, slope: float) -> Tensor:
        ctx.slope = slope
        return (x >= threshold).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return grad * ctx.slope, None, None


def contextual_similarity(
    embeddings: Tensor, *, k: int = 4, epsilon: float = 0.05, slope: float = 10.0
) -> Tensor:
    r"""Contextual similarity [N, N] of Liao et al. ("Supervised Metric Learning to Rank for
    Retrieval via Contextual Similarity Optimization", ICML 2023).

    With cosine similarity S on normalized embeddings: the k-neighbourhood indicator
    :math:`M_{ij} = 1[S_{ij} + \epsilon \ge S_{i(k)}]` (:math:`S_{i(k)}` the k-th largest of
    row i, the item itself included); the neighbourhood agreement
    :math:`\tilde W = \tfrac12\big(\frac{M M^\top}{|M_i|}
    + \frac{\bar M \bar M^\top}{|\bar M_i|}\big) \odot M`; query expansion over the
    reciprocal k/2-neighbourhood
    :math:`R = M^{(k/2)} \odot M^{(k/2)\top}`: :math:`C = R\tilde W / |R_i|`, symmetrised.
    The indicators are steps with a straight-through gradient of ``slope`` (the paper's
    estimator); normalizing counts carry no gradient.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> c = contextual_similarity(x, k=2)
        >>> bool(c[0, 1] > c[0, 2])  # neighbours share context, the far pair does not
        True
    """
    check_embeddings(embeddings, "contextual_similarity")
    n = embeddings.shape[0]
    if not 2 <= k <= n:
        raise ValueError(f"contextual_similarity: k must be in [2, N={n}], got {k}")
    close = closeness(embeddings, similarity="cosine")
    top = close.detach().topk(k, dim=1).values
    member: Tensor = _StraightThroughStep.apply(  # type: ignore[no-untyped-call]
        close + epsilon, top[:, k - 1 :], slope
    )
    outside = 1 - member
    agree = (member @ member.T) / member.sum(1, keepdim=True).detach()
    agree_out = (outside @ outside.T) / outside.sum(1, keepdim=True).detach().clamp(min=1)
    w_tilde = 0.5 * (agree + agree_out) * member
    half: Tensor = _StraightThroughStep.apply(  # type: ignore[no-untyped-call]
        close + epsilon, top[:, k // 2 - 1 : k // 2], slope
    )
    reciprocal = half * half.T
    expanded = (reciprocal @ w_tilde) / reciprocal.sum(1, keepdim=True).detach().clamp(min=1)
    return 0.5 * (expanded + expanded.T)


def contextual_similarity_loss(
    embeddings: Tensor,
    labels: Tensor,
    *,
    k: int = 4,
    epsilon: float = 0.05,
    mix: float = 0.4,
    pos_margin: float = 0.75,
    neg_margin: float = 0.6,
    regularization: float = 0.0,
    target_mean_similarity: float = 0.25,
) -> Tensor:
    r"""Contextual similarity loss (Liao et al., ICML 2023): the mean over off-diagonal
    pairs of :math:`(1 - C_{ij})^2` for positives and :math:`C_{ij}^2` for negatives, C
    the :func:`contextual_similarity`, mixed with a cosine contrastive loss:
    ``mix * contrastive + (1 - mix) * contextual`` (``contrastive`` is
    :func:`contrastive_loss` with cosine similarity and margins ``pos_margin``,
    ``neg_margin``), plus ``regularization`` times
    :math:`(\bar S - \text{target\_mean\_similarity})^2` (the paper's similarity
    regularizer on the mean cosine similarity).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> y = torch.tensor([0, 0, 1, 1])
        >>> mixed = x[[0, 2, 1, 3]]
        >>> bool(contextual_similarity_loss(x, y, k=2) < contextual_similarity_loss(mixed, y, k=2))
        True
    """
    check_embeddings(embeddings, "contextual_similarity_loss")
    check_class_labels(labels, embeddings.shape[0], "contextual_similarity_loss")
    context = contextual_similarity(embeddings, k=k, epsilon=epsilon)
    pos, neg = label_masks(labels.to(embeddings.device))
    n = embeddings.shape[0]
    pair_loss = ((1 - context).square() * pos + context.square() * neg).sum() / (n * n)
    contrast = contrastive_loss(
        embeddings, labels, pos_margin=pos_margin, neg_margin=neg_margin, similarity="cosine"
    )
    loss = mix * contrast + (1 - mix) * pair_loss
    if regularization:
        mean_sim = closeness(embeddings, similarity="cosine").mean()
        loss = loss + regularization * (mean_sim - target_mean_similarity).square()
    return loss


def proto_triplet_loss(
    support: Tensor,
    support_labels: Tensor,
    query: Tensor,
    query_labels: Tensor,
    *,
    margin: float = 1.0,
    similarity: Similarity = "squared_euclidean",
    normalize: bool = False,
    hardest: bool = False,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Proto-triplet loss for few-shot episodes: the triplet margin loss with class
    prototypes (Snell et al. 2017's class means of the support set) as positives and
    negatives. For query q of class y and every other class c:
    :math:`[d(q, \mu_y) - d(q, \mu_c) + \text{margin}]_+` (``hardest``: only the closest
    other prototype). Each query's class must appear in the support set. Elements: one per
    (query, other class), or per query with ``hardest``.

    Example:
        >>> support = torch.tensor([[0.0, 0.0], [4.0, 4.0]]); labels = torch.tensor([0, 1])
        >>> query = torch.tensor([[0.1, 0.0]])  # near its own class's prototype
        >>> proto_triplet_loss(support, labels, query, torch.tensor([0]))
        tensor(0.)
    """
    for t, what in ((support, "support"), (query, "query")):
        check_embeddings(t, "proto_triplet_loss", what)
    check_class_labels(support_labels, support.shape[0], "proto_triplet_loss", "support_labels")
    check_class_labels(query_labels, query.shape[0], "proto_triplet_loss", "query_labels")
    check_reduction(reduction, "proto_triplet_loss")
    classes, index = torch.unique(support_labels, return_inverse=True)
    if classes.numel() < 2:
        raise ValueError("proto_triplet_loss: the support set needs at least 2 classes")
    sums = torch.zeros(
        classes.numel(), support.shape[1], dtype=support.dtype, device=support.device
    )
    sums.index_add_(0, index.to(support.device), support)
    counts = torch.bincount(index, minlength=classes.numel()).to(support)
    prototypes = sums / counts.unsqueeze(1)
    match = query_labels.to(classes.device).unsqueeze(1) == classes.unsqueeze(0)
    if not bool(match.any(dim=1).all()):
        raise ValueError("proto_triplet_loss: every query's class must be in the support set")
    dist = -closeness(query, prototypes, similarity=similarity, normalize=normalize)
    own = dist[match.to(dist.device)]  # [Q], one own prototype per query
    other = ~match.to(dist.device)
    violation = own.unsqueeze(1) - dist + margin
    if hardest:
        nearest = dist.masked_fill(~other, float("inf")).amin(dim=1)
        return reduce_elements(torch.relu(own - nearest + margin), reduction)
    return reduce_elements(torch.relu(violation[other]), reduction)
