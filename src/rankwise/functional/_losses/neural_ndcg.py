r"""NeuralNDCG (Pobrotyn & Białobrzeski 2021): NDCG through a relaxed sort.

The NeuralSort matrix P of the scores (rows: ranks; :func:`rankwise.functional.neural_sort`) is
made doubly stochastic by Sinkhorn scaling. Then

- NeuralNDCG: the gains sorted by P, :math:`\tilde g = P\,g`, are discounted by rank:
  :math:`\text{DCG@}k = \sum_{r \le k} \tilde g_r / \log_2(1 + r)`;
- NeuralNDCG-transposed: each item gets its expected discount :math:`P^\top d` (d = 0
  beyond k): :math:`\text{DCG@}k = \sum_i g_i (P^\top d)_i`;

divided by the exact IDCG@k. The loss is the negative NDCG. The stochastic variant
averages over Gumbel-perturbed samples (``n_samples``, ``beta``; randomness from
``generator``). Lists whose IDCG is 0 carry no signal.

Both forms are the same number, :math:`d_{\le k}^\top P g`; ``transposed`` is kept
for allRank's API. Temperature: low values approach the true NDCG (sharper P, sparser
gradients); the paper uses 1. Compared with allRank's implementation the values are the
same (up to the per-list Sinkhorn stopping, which makes a list independent of its batch
neighbours) and the work is O(L²) per list instead of O(L³) (allRank builds
``A_s 1 1^T`` with a matrix product).

How it is fast: :math:`A_s 1` comes from sorted prefix sums; the NeuralSort softmax and
its reverse pass are one fused step each (``neural_sort_rows``); Sinkhorn runs in
scaling form on cache-sized groups of lists in the input's dtype (float32 entries that
would make subnormal products are dropped: they are below 1.3e-29 next to row maxima of
at least 1/n), and the DCG is taken from the scaling vectors
(``sinkhorn_bilinear``), so the doubly stochastic matrix is never formed.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._checks import Reduction
from rankwise.functional._gains import Gain, apply_gain, discounts, ideal_dcg
from rankwise.functional._losses.common import finish, prepare
from rankwise.functional._soft_sorting import neural_sort_rows, sample_scores, sinkhorn_bilinear


def neural_ndcg_loss(
    scores: Tensor,
    labels: Tensor,
    *,
    mask: Tensor | None = None,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    temperature: float = 1.0,
    k: int | None = None,
    transposed: bool = False,
    powered_relevancies: bool = True,
    stochastic: bool = False,
    n_samples: int = 32,
    beta: float = 0.1,
    log_scores: bool = True,
    generator: torch.Generator | None = None,
    sinkhorn_iters: int = 50,
    sinkhorn_tol: float = 1e-6,
    sinkhorn_stop: Literal["list", "batch"] = "list",
) -> Tensor:
    """Negative NeuralNDCG@k (module docstring). ``powered_relevancies``: gain 2^y - 1
    (True) or y; the same gain is used for the ideal DCG. ``sinkhorn_stop="batch"``
    reproduces allRank's batch-wide Sinkhorn stopping (see :func:`sinkhorn`).

    Example:
        >>> s = torch.tensor([[2.0, 1.0, 0.0]]); y = torch.tensor([[2.0, 1.0, 0.0]])
        >>> bool(neural_ndcg_loss(s, y) < neural_ndcg_loss(-s, y))  # right order wins
        True
    """
    x = prepare("neural_ndcg_loss", scores, labels, mask, weights, reduction, k=k)
    length = x.scores.shape[1]
    cut = length if k is None else min(k, length)
    if temperature <= 0:
        raise ValueError(f"neural_ndcg_loss: temperature must be > 0, got {temperature}")
    s, m = x.scores, x.mask
    if stochastic:
        s, m = sample_scores(
            s, m, n_samples=n_samples, beta=beta, log_scores=log_scores, generator=generator
        )
    samples = s.shape[0] // x.scores.shape[0]
    p = neural_sort_rows(s, m, temperature, flush=True)
    gain_name: Gain = "exp2" if powered_relevancies else "linear"
    g = apply_gain(x.labels, gain_name) * x.mask
    if x.item_weights is not None:
        g = g * x.item_weights
    d = discounts(length, g.dtype, g.device)
    d_cut = torch.where(torch.arange(length, device=g.device) < cut, d, torch.zeros_like(d))
    # Both forms are the number d_cut^T P g: sum_r d_r (P g)_r = sum_i g_i (P^T d)_i.
    del transposed
    dcg = sinkhorn_bilinear(
        p,
        m,
        d_cut.unsqueeze(0),
        g.repeat(samples, 1),
        max_iter=sinkhorn_iters,
        tol=sinkhorn_tol,
        stop=sinkhorn_stop,
    )
    idcg = ideal_dcg(x.labels, x.mask, cut, gain_name)
    has = idcg > 0
    ndcg = dcg.reshape(samples, -1) / torch.where(has, idcg, torch.ones_like(idcg))
    return finish(-ndcg.mean(dim=0), has, x, reduction)
