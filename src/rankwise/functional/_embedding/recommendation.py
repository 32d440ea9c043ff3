"""Recommendation losses on user-item scores with sampled negatives.

Inputs: ``pos_scores`` [B] (the score of each user's observed item) and ``neg_scores``
[B, n] (scores of n sampled negative items), optionally ``neg_mask`` [B, n] for a
varying number of negatives. Each row becomes one ranking list ``[pos, neg_1 .. neg_n]``
with labels ``[1, 0 .. 0]`` and is handed to the list losses of
:mod:`rankwise.functional`, so BPR, sampled softmax, PSL and SL@K are the same code
as the ranking losses (and inherit their tests). ``reduction`` ("mean", "sum", "none")
is over users (rows).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._checks import Reduction
from rankwise.functional._losses.listwise import psl_loss, sl_at_k_loss, softmax_loss
from rankwise.functional._losses.pairwise import pairwise_logistic_loss
from rankwise.functional._reduction import reduce_lists


def as_lists(
    pos_scores: Tensor, neg_scores: Tensor, neg_mask: Tensor | None, name: str
) -> tuple[Tensor, Tensor, Tensor]:
    """``(scores [B, 1+n], labels [B, 1+n], mask [B, 1+n])`` with the positive first."""
    if pos_scores.dim() != 1 or neg_scores.dim() != 2 or neg_scores.shape[0] != pos_scores.shape[0]:
        raise ValueError(
            f"{name}: pos_scores must be [B] and neg_scores [B, n] with the same B, got "
            f"{tuple(pos_scores.shape)} and {tuple(neg_scores.shape)}"
        )
    if neg_mask is not None and neg_mask.shape != neg_scores.shape:
        raise ValueError(f"{name}: neg_mask must have neg_scores' shape {tuple(neg_scores.shape)}")
    scores = torch.cat([pos_scores.unsqueeze(1), neg_scores], dim=1)
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1.0
    mask = torch.ones_like(scores, dtype=torch.bool)
    if neg_mask is not None:
        mask[:, 1:] = neg_mask
    return scores, labels, mask


def bpr_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    neg_mask: Tensor | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Bayesian personalised ranking (Rendle et al., UAI 2009):
    :math:`-\log\sigma(s_{u,i} - s_{u,j})` averaged over a user's sampled negatives j
    (the pairwise logistic loss of the list ``[pos, negs]``).

    Example:
        >>> round(float(bpr_loss(torch.tensor([0.0]), torch.tensor([[0.0]]))), 4)  # -log sigmoid(0)
        0.6931
    """
    scores, labels, mask = as_lists(pos_scores, neg_scores, neg_mask, "bpr_loss")
    return pairwise_logistic_loss(scores, labels, mask=mask, reduction=reduction)


def sampled_softmax_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    neg_mask: Tensor | None = None,
    log_q_pos: Tensor | None = None,
    log_q_neg: Tensor | None = None,
    temperature: float = 1.0,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Sampled softmax with log-Q correction (Bengio & Senécal 2008; Yi et al., RecSys 2019):
    the softmax cross-entropy of the positive among ``[pos, negs]`` on corrected logits
    :math:`s/\tau - \log Q(i)`, Q the probability with which the sampler draws item i
    (``log_q_pos`` [B], ``log_q_neg`` [B, n]; omitted = uniform sampling, no correction).
    The correction removes the sampler's bias toward popular items from the estimate of
    the full softmax.

    Example:
        >>> value = sampled_softmax_loss(torch.tensor([0.0]), torch.tensor([[0.0]]))
        >>> round(float(value), 4)  # log 2
        0.6931
    """
    scores, labels, mask = as_lists(pos_scores, neg_scores, neg_mask, "sampled_softmax_loss")
    logits = scores / temperature
    if (log_q_pos is None) != (log_q_neg is None):
        raise ValueError("sampled_softmax_loss: give both log_q_pos and log_q_neg, or neither")
    if log_q_pos is not None and log_q_neg is not None:
        logits = logits - torch.cat([log_q_pos.unsqueeze(1), log_q_neg], dim=1)
    return softmax_loss(logits, labels, mask=mask, reduction=reduction)


def ccl_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    neg_mask: Tensor | None = None,
    margin: float = 0.8,
    negative_weight: float | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""Cosine contrastive loss CCL of SimpleX (Mao et al., CIKM 2021):
    :math:`(1 - \hat y_{ui}) + \frac{w}{|N|}\sum_{j \in N}[\hat y_{uj} - m]_+`, with cosine
    scores :math:`\hat y`, margin m and negative weight w (default: the number of
    negatives, i.e. a plain sum over them, the paper's recommended balance).

    Example:
        >>> # a perfect positive (cosine 1) and a negative under the margin cost nothing
        >>> ccl_loss(torch.tensor([1.0]), torch.tensor([[0.5]]), margin=0.8)
        tensor(0.)
    """
    scores, _, mask = as_lists(pos_scores, neg_scores, neg_mask, "ccl_loss")
    neg = mask[:, 1:]
    n_neg = neg.sum(dim=1).clamp(min=1).to(scores.dtype)
    weight = n_neg if negative_weight is None else torch.full_like(n_neg, negative_weight)
    hinge = torch.relu(scores[:, 1:] - margin).masked_fill(~neg, 0.0).sum(dim=1)
    values = (1 - scores[:, 0]) + weight / n_neg * hinge
    has = torch.ones_like(values, dtype=torch.bool)
    return reduce_lists(values, has, reduction)


def psl_recommendation_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    neg_mask: Tensor | None = None,
    activation: Literal["tanh", "atan", "relu"] = "tanh",
    temperature: float = 1.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """Pairwise softmax loss PSL (Yang et al., NeurIPS 2024) on ``[pos, negs]``: the list
    loss :func:`~rankwise.functional._losses.psl_loss`.

    Example:
        >>> pos, neg = torch.tensor([0.9]), torch.tensor([[0.1, -0.2]])
        >>> bool(psl_recommendation_loss(pos, neg) < psl_recommendation_loss(-pos, neg))
        True
    """
    scores, labels, mask = as_lists(pos_scores, neg_scores, neg_mask, "psl_recommendation_loss")
    return psl_loss(
        scores,
        labels,
        mask=mask,
        activation=activation,
        temperature=temperature,
        reduction=reduction,
    )


def sl_at_k_recommendation_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    *,
    neg_mask: Tensor | None = None,
    k: int = 20,
    temperature: float = 1.0,
    weight_temperature: float = 1.0,
    reduction: Reduction = "mean",
) -> Tensor:
    """SoftmaxLoss@K (Yang et al., KDD 2025) on ``[pos, negs]``: the list loss
    :func:`~rankwise.functional._losses.sl_at_k_loss` (its top-K quantile is estimated from
    the sampled negatives).

    Example:
        >>> pos, neg = torch.tensor([0.9]), torch.tensor([[0.1, -0.2]])
        >>> good = sl_at_k_recommendation_loss(pos, neg, k=1)
        >>> bool(good < sl_at_k_recommendation_loss(-pos, neg, k=1))
        True
    """
    scores, labels, mask = as_lists(pos_scores, neg_scores, neg_mask, "sl_at_k_recommendation_loss")
    return sl_at_k_loss(
        scores,
        labels,
        mask=mask,
        k=k,
        temperature=temperature,
        weight_temperature=weight_temperature,
        reduction=reduction,
    )
