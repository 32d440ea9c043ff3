r"""Lambda weights: per-pair weights that make a pairwise loss optimise a ranking metric.

All of them are functions of each item's rank under the current scores r (1-based,
ties broken by input order), its gain :math:`G = \text{gain}(y)` (optionally divided by
the list's ideal DCG@k, ``normalize``), and the discount :math:`D(r) = \log_2(1 + r)`.

- ``ranknet``: 1 (Burges et al. 2005);
- ``label_diff``: :math:`|y_i - y_j|` (RankNet weighted by grades);
- ``label_diff_pow``: :math:`|y_i^2 - y_j^2|` (allRank);
- ``lambdarank``: :math:`|G_i - G_j|\,|1/D(r_i) - 1/D(r_j)|` (Burges 2006; Rax ``dcg``);
- ``ndcg_loss1``: :math:`G_i / D(r_i)` (Wang et al. 2018, LambdaLoss);
- ``ndcg_loss2``: :math:`|G_i - G_j|\,\delta_{|r_i - r_j|}` with
  :math:`\delta_n = |1/D(n) - 1/D(n+1)|` (Wang et al. 2018; Rax ``dcg2``);
- ``ndcg_loss2pp``: :math:`\mu\,\text{ndcg\_loss2} + \text{lambdarank}` (Wang et al. 2018);
- ``arp1``: :math:`y_i` over all pairs (ARP-Loss1); ``arp2``: :math:`|y_i - y_j|` (ARP-Loss2).

Cut-off ``k`` rules (a named option because implementations differ):

- ``"both"``: a pair counts only if both items rank in the top k (allRank);
- ``"either"``: if either does (TF-Ranking);
- ``"discount"``: discounts beyond k are 0 (Rax ``dcg_lambdaweight`` with ``topn``);
- ``"jagerman"``: pairs whose lower item ranks below k are up-weighted by
  :math:`1/(1 - 1/D(\max(r_i, r_j)))` (Jagerman et al. 2022; Rax ``dcg2`` with ``topn``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from rankwise.functional.metrics import Gain, apply_gain
from rankwise.functional.ordering import rank_lists

Scheme = Literal[
    "ranknet",
    "label_diff",
    "label_diff_pow",
    "lambdarank",
    "ndcg_loss1",
    "ndcg_loss2",
    "ndcg_loss2pp",
    "arp1",
    "arp2",
]
SCHEMES = (
    "ranknet",
    "label_diff",
    "label_diff_pow",
    "lambdarank",
    "ndcg_loss1",
    "ndcg_loss2",
    "ndcg_loss2pp",
    "arp1",
    "arp2",
)
KRule = Literal["both", "either", "discount", "jagerman"]
K_RULES = ("both", "either", "discount", "jagerman")


@dataclass
class RankState:
    """Per-item quantities the weights need, computed once per loss call."""

    ranks: Tensor  # [B, L] 1-based ranks by score (float)
    gains: Tensor  # [B, L] gains, divided by IDCG@k when normalised
    labels: Tensor  # [B, L]
    length: int


def rank_state(
    scores: Tensor,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None,
    gain: Gain = "exp2",
    normalize: bool = True,
    eps: float = 1e-10,
) -> RankState:
    """Ranks (stable ties) and gains of every item; no gradient flows through them."""
    with torch.no_grad():
        ranked = rank_lists(scores.detach(), labels, mask, "stable")
        ranks = torch.empty_like(ranked.order)
        positions = torch.arange(1, scores.shape[1] + 1, device=scores.device).expand_as(ranks)
        ranks.scatter_(1, ranked.order, positions)
        gains = apply_gain(labels, gain) * mask
        if normalize:
            ideal = apply_gain(ranked.ideal(), gain)
            cut = ideal.shape[1] if k is None else min(k, ideal.shape[1])
            disc = 1.0 / torch.log2(
                torch.arange(2, cut + 2, dtype=scores.dtype, device=scores.device)
            )
            idcg = (ideal[:, :cut] * disc).sum(dim=1, keepdim=True)
            gains = gains / idcg.clamp(min=eps)
    return RankState(ranks.to(scores.dtype), gains, labels, scores.shape[1])


def pair_weights(
    state: RankState,
    scheme: Scheme,
    rows: slice,
    *,
    k: int | None = None,
    k_rule: KRule = "both",
    mu: float = 10.0,
    light_discount: bool = False,
) -> Tensor:
    """Weights [B, rows, L] of the pairs (i in ``rows``, j) for ``scheme`` (module docstring)."""
    r_i, r_j = state.ranks[:, rows].unsqueeze(2), state.ranks.unsqueeze(1)
    g_i, g_j = state.gains[:, rows].unsqueeze(2), state.gains.unsqueeze(1)
    y_i, y_j = state.labels[:, rows].unsqueeze(2), state.labels.unsqueeze(1)

    def inv_d(r: Tensor) -> Tensor:
        return 1.0 / torch.log2(1.0 + r)

    if scheme == "ranknet":
        w = torch.ones_like(r_i * r_j)
    elif scheme in ("label_diff", "arp2"):
        w = (y_i - y_j).abs()
    elif scheme == "label_diff_pow":
        w = (y_i**2 - y_j**2).abs()
    elif scheme == "arp1":
        w = y_i.expand(-1, -1, state.length)
    elif scheme == "ndcg_loss1":
        w = (g_i * inv_d(r_i)).expand(-1, -1, state.length)
    elif scheme == "lambdarank":
        w = _lambdarank(g_i, g_j, r_i, r_j, k, k_rule)
    elif scheme == "ndcg_loss2":
        w = _ndcg_loss2(g_i, g_j, r_i, r_j, k, k_rule, light_discount)
    elif scheme == "ndcg_loss2pp":
        w = mu * _ndcg_loss2(g_i, g_j, r_i, r_j, k, k_rule, light_discount) + _lambdarank(
            g_i, g_j, r_i, r_j, k, k_rule
        )
    else:
        raise ValueError(f"unknown lambda weighting {scheme!r}; choose from {SCHEMES}")
    return w


def pair_keep(state: RankState, rows: slice, k: int | None, k_rule: KRule) -> Tensor | None:
    """[B, rows, L] pairs kept by the ``"both"``/``"either"`` top-k rules (None: all)."""
    if k is None or k_rule not in ("both", "either"):
        return None
    inside_i, inside_j = state.ranks[:, rows].unsqueeze(2) <= k, state.ranks.unsqueeze(1) <= k
    return (inside_i & inside_j) if k_rule == "both" else (inside_i | inside_j)


def _lambdarank(
    g_i: Tensor, g_j: Tensor, r_i: Tensor, r_j: Tensor, k: int | None, k_rule: KRule
) -> Tensor:
    d_i, d_j = 1.0 / torch.log2(1.0 + r_i), 1.0 / torch.log2(1.0 + r_j)
    if k is not None and k_rule == "discount":
        d_i = torch.where(r_i <= k, d_i, torch.zeros_like(d_i))
        d_j = torch.where(r_j <= k, d_j, torch.zeros_like(d_j))
    return (g_i - g_j).abs() * (d_i - d_j).abs()


def _ndcg_loss2(
    g_i: Tensor,
    g_j: Tensor,
    r_i: Tensor,
    r_j: Tensor,
    k: int | None,
    k_rule: KRule,
    light_discount: bool,
) -> Tensor:
    gap = (r_i - r_j).abs()
    safe = gap.clamp(min=1.0)
    inv_d = 1.0 / torch.log2(1.0 + safe)
    delta = inv_d if light_discount else (inv_d - 1.0 / torch.log2(2.0 + safe)).abs()
    delta = torch.where(gap > 0, delta, torch.zeros_like(delta))
    if k is not None and k_rule == "jagerman":
        lower = torch.maximum(r_i, r_j)
        boost = 1.0 / (1.0 - 1.0 / torch.log2(1.0 + lower))
        delta = torch.where(lower > k, delta * boost, delta)
    return (g_i - g_j).abs() * delta
