r"""Lambda weights: per-pair weights that make a pairwise loss optimize a ranking metric.

All of them are functions of each item's rank under the current scores r (1-based,
ties broken by input order), its gain :math:`G = \text{gain}(y)` (optionally divided by
the list's ideal DCG@k, ``normalize``), and the discount :math:`D(r) = \log_2(1 + r)`:

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

How: the lists are first put in predicted order (a differentiable gather of the
scores). A pairwise loss only depends on each pair's scores and labels, so its value is
unchanged, and every rank-dependent quantity becomes a function of positions: the
discount terms are [rows, L] constants shared by the whole batch instead of per-pair
work on [B, L, L].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from rankwise.functional._exact_ranking import rank_lists
from rankwise.functional._gains import Gain, apply_gain, discount, ideal_dcg_of_sorted
from rankwise.registry import Registry

LambdaWeighting = str  # a key of LAMBDA_WEIGHTS
# Each entry maps (state, rows, k, k_rule, mu, light_discount) to the weights of the pairs
# (positions i in ``rows``, j), broadcastable to [B, rows, L]; its ``pairs`` meta says which
# pairs LambdaLoss sums over (default "ordered": y_i > y_j; see common.pair_select).
#: Lambda weightings by name (kind ``"lambda_weights"``).
LAMBDA_WEIGHTS: Registry[Tensor] = Registry(
    "lambda_weights", per_call=("state", "rows", "k", "k_rule", "mu", "light_discount")
)
KRule = Literal["both", "either", "discount", "jagerman"]
K_RULES = ("both", "either", "discount", "jagerman")


@dataclass
class RankedPairs:
    """A batch in predicted order: position p holds the item ranked p + 1."""

    scores: Tensor  # [B, L] scores in predicted order (differentiable gather)
    labels: Tensor  # [B, L]
    mask: Tensor  # [B, L] real items first
    gains: Tensor  # [B, L] gains (divided by IDCG@k when normalized), 0 at masked positions
    order: Tensor  # [B, L] input index of each position
    length: int

    def gather(self, per_item: Tensor) -> Tensor:
        """Put a per-item [B, L] tensor (e.g. item weights) in predicted order."""
        return per_item.gather(1, self.order)


def rank_pairs(
    scores: Tensor,
    labels: Tensor,
    mask: Tensor,
    *,
    k: int | None,
    gain: Gain = "exp2",
    normalize: bool = True,
    eps: float = 1e-10,
) -> RankedPairs:
    """Sort each list by score (stable ties, real items first) and compute its gains."""
    with torch.no_grad():
        ranked = rank_lists(scores.detach(), labels, mask, "stable")
        gains = apply_gain(ranked.labels, gain) * ranked.valid
        if normalize:
            idcg = ideal_dcg_of_sorted(ranked.ideal(), k, gain).unsqueeze(1)
            gains = gains / idcg.clamp(min=eps)
    return RankedPairs(
        scores.gather(1, ranked.order),
        ranked.labels,
        ranked.valid,
        gains,
        ranked.order,
        scores.shape[1],
    )


def _positions(rows: slice, length: int, device: torch.device) -> tuple[Tensor, Tensor]:
    start = rows.start or 0
    stop = rows.stop if rows.stop is not None else length
    i = torch.arange(start, stop, device=device).unsqueeze(1)
    j = torch.arange(length, device=device).unsqueeze(0)
    return i, j


def positional_factor(
    state: RankedPairs,
    scheme: LambdaWeighting,
    rows: slice,
    *,
    k: int | None,
    k_rule: KRule,
    mu: float,
    light_discount: bool,
) -> Tensor | None:
    """The [rows, L] position-only factor of a DCG-type scheme (None for the others)."""
    if scheme not in ("lambdarank", "ndcg_loss2", "ndcg_loss2pp"):
        return None
    dtype, device = state.gains.dtype, state.gains.device
    i, j = _positions(rows, state.length, device)
    factor = torch.zeros((), dtype=dtype, device=device)
    if scheme in ("lambdarank", "ndcg_loss2pp"):
        d_i, d_j = discount(i + 1, dtype), discount(j + 1, dtype)
        if k is not None and k_rule == "discount":
            d_i = torch.where(i < k, d_i, torch.zeros_like(d_i))
            d_j = torch.where(j < k, d_j, torch.zeros_like(d_j))
        factor = factor + (d_i - d_j).abs()
    if scheme in ("ndcg_loss2", "ndcg_loss2pp"):
        gap = (i - j).abs()
        inv = discount(gap.clamp(min=1), dtype)
        delta = inv if light_discount else (inv - discount(gap.clamp(min=1) + 1, dtype)).abs()
        delta = torch.where(gap > 0, delta, torch.zeros_like(delta))
        if k is not None and k_rule == "jagerman":
            lower = torch.maximum(i, j) + 1
            boost = 1.0 / (1.0 - discount(lower, dtype))
            delta = torch.where(lower > k, delta * boost, delta)
        factor = factor + (mu * delta if scheme == "ndcg_loss2pp" else delta)
    return factor


def pair_weights(
    state: RankedPairs,
    scheme: LambdaWeighting,
    rows: slice,
    *,
    k: int | None = None,
    k_rule: KRule = "both",
    mu: float = 10.0,
    light_discount: bool = False,
) -> Tensor:
    """Weights of the pairs (positions i in ``rows``, j) for ``scheme``, broadcastable to
    [B, rows, L] (module docstring)."""
    weighting = LAMBDA_WEIGHTS.choose(scheme, "lambda_weights")
    return weighting(state, rows, k, k_rule, mu, light_discount)


def _label_pair(state: RankedPairs, rows: slice) -> tuple[Tensor, Tensor]:
    return state.labels[:, rows].unsqueeze(2), state.labels.unsqueeze(1)


@LAMBDA_WEIGHTS.register("ranknet")
def _ranknet(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """1 for every pair (Burges et al. 2005)."""
    return torch.ones((), dtype=state.gains.dtype, device=state.gains.device)


@LAMBDA_WEIGHTS.register("label_diff")
def _label_diff(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``|y_i - y_j|``."""
    y_i, y_j = _label_pair(state, rows)
    return (y_i - y_j).abs()


@LAMBDA_WEIGHTS.register("arp2")
def _arp2(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``|y_i - y_j|`` (ARP-Loss2)."""
    return _label_diff(state, rows, k, k_rule, mu, light_discount)


@LAMBDA_WEIGHTS.register("label_diff_pow")
def _label_diff_pow(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``|y_i^2 - y_j^2|`` (allRank)."""
    y_i, y_j = _label_pair(state, rows)
    return (y_i**2 - y_j**2).abs()


@LAMBDA_WEIGHTS.register("arp1", pairs="distinct")
def _arp1(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``y_i`` over all pairs (ARP-Loss1)."""
    return state.labels[:, rows].unsqueeze(2)


@LAMBDA_WEIGHTS.register("ndcg_loss1", pairs="all")
def _ndcg_loss1(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``G_i / D(r_i)`` (Wang et al. 2018)."""
    i, _ = _positions(rows, state.length, state.gains.device)
    g_i = state.gains[:, rows].unsqueeze(2)
    return g_i * discount(i + 1, state.gains.dtype).unsqueeze(0)


def _gain_gap(state: RankedPairs, rows: slice) -> Tensor:
    return (state.gains[:, rows].unsqueeze(2) - state.gains.unsqueeze(1)).abs()


def _dcg_factor(
    state: RankedPairs,
    scheme: str,
    rows: slice,
    k: int | None,
    k_rule: KRule,
    mu: float,
    light_discount: bool,
) -> Tensor:
    factor = positional_factor(
        state, scheme, rows, k=k, k_rule=k_rule, mu=mu, light_discount=light_discount
    )
    assert factor is not None
    return _gain_gap(state, rows) * factor


@LAMBDA_WEIGHTS.register("lambdarank")
def _lambdarank(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``|G_i - G_j| |1/D(r_i) - 1/D(r_j)|`` (Burges 2006)."""
    return _dcg_factor(state, "lambdarank", rows, k, k_rule, mu, light_discount)


@LAMBDA_WEIGHTS.register("ndcg_loss2")
def _ndcg_loss2(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``|G_i - G_j| delta_{|r_i - r_j|}`` (Wang et al. 2018)."""
    return _dcg_factor(state, "ndcg_loss2", rows, k, k_rule, mu, light_discount)


@LAMBDA_WEIGHTS.register("ndcg_loss2pp")
def _ndcg_loss2pp(
    state: RankedPairs, rows: slice, k: int | None, k_rule: KRule, mu: float, light_discount: bool
) -> Tensor:
    """``mu * ndcg_loss2 + lambdarank`` (Wang et al. 2018)."""
    return _dcg_factor(state, "ndcg_loss2pp", rows, k, k_rule, mu, light_discount)


def pair_keep(state: RankedPairs, rows: slice, k: int | None, k_rule: KRule) -> Tensor | None:
    """[1, rows, L] pairs kept by the ``"both"``/``"either"`` top-k rules (None: all)."""
    if k is None or k_rule not in ("both", "either"):
        return None
    i, j = _positions(rows, state.length, state.gains.device)
    keep = ((i < k) & (j < k)) if k_rule == "both" else ((i < k) | (j < k))
    return keep.unsqueeze(0)
