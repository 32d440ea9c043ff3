"""Plumbing shared by every loss: inputs, weights, reduction, masked reductions, pairs.

The contract (``docs/architecture.md``): ``loss(scores, labels, *, mask=None, weights=None,
reduction="mean", ...)``; ``scores`` [B, L], ``labels`` [B, L] (graded relevance or soft
targets), ``mask`` [B, L] bool with True = real item, ``weights`` [B] per list or [B, L]
per item. ``reduction="none"`` gives one value per list; ``"sum"`` their sum; ``"mean"``
their average over the lists that carry signal (a real item, a relevant item, an ordered
pair: each loss says which), and a finite 0 connected to the graph when none does.
Values and gradients never depend on what masked positions hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from rankwise.functional._checks import (
    Reduction,
    check_k,
    check_label_values,
    check_list_shapes,
    check_reduction,
)
from rankwise.functional._reduction import reduce_lists, reduction_coefficients

NEG_INF = float("-inf")


class LossInputs:
    """Checked inputs of a loss, in its compute dtype.

    ``scores`` and ``labels`` are 0 at masked positions, whatever the caller's tensors
    hold there (garbage, inf, NaN), so neither values nor gradients can depend on it
    (masked_fill's gradient is 0 there). They are computed on first use: a loss that only
    reads them through :meth:`padded` never pays for the copy, and without a mask there
    is nothing to fill.
    """

    def __init__(
        self,
        raw_scores: Tensor,
        raw_labels: Tensor,
        mask: Tensor | None,
        list_weights: Tensor | None,
        item_weights: Tensor | None,
    ) -> None:
        self.raw_scores = raw_scores  # [B, L] as given (cast to the compute dtype)
        self.raw_labels = raw_labels  # [B, L]
        self.dense = mask is None  # no padding anywhere
        self.mask = (
            torch.ones(raw_scores.shape, dtype=torch.bool, device=raw_scores.device)
            if mask is None
            else mask
        )
        self.list_weights = list_weights  # [B]
        self.item_weights = item_weights  # [B, L], 0 at masked positions
        # The grad mode of the call: a tensor first used inside a loss's no_grad block
        # must still be cached with its graph.
        self._grad_enabled = torch.is_grad_enabled()

    @cached_property
    def padding(self) -> Tensor:
        """[B, L] bool: True at masked positions."""
        return ~self.mask

    @cached_property
    def scores(self) -> Tensor:
        """[B, L] scores, 0 at masked positions."""
        if self.dense:
            return self.raw_scores
        with torch.set_grad_enabled(self._grad_enabled):
            return self.raw_scores.masked_fill(self.padding, 0.0)

    @cached_property
    def labels(self) -> Tensor:
        """[B, L] labels, 0 at masked positions."""
        if self.dense:
            return self.raw_labels
        with torch.set_grad_enabled(self._grad_enabled):
            return self.raw_labels.masked_fill(self.padding, 0.0)

    @cached_property
    def has_items(self) -> Tensor:
        """[B] bool: the list has a real item (a sum: faster than ``any`` on the CPU)."""
        if self.dense:
            return torch.full(self.mask.shape[:1], self.mask.shape[1] > 0, device=self.mask.device)
        return self.mask.sum(dim=1) > 0

    @cached_property
    def pad_column(self) -> Tensor:
        """[B, 1]: -inf for lists with a real item, 0 for lists without (see padded)."""
        return pad_column(self.mask, self.has_items, self.raw_scores.dtype)

    def padded(self, values: Tensor) -> Tensor:
        """``values`` at real items, -inf at masked ones (0 in lists without real items)."""
        return values if self.dense else torch.where(self.mask, values, self.pad_column)

    def softmax_padded(self, values: Tensor) -> Tensor:
        """``values`` at real items and :data:`softmax_fill` at masked ones: a softmax
        gives them exactly 0 and a log-softmax a finite value (see softmax_fill)."""
        if self.dense:
            return values
        # masked_fill with the cached padding: several times faster than a where with a
        # scalar on the CPU (the ListNet call is short enough for it to matter)
        return values.masked_fill(self.padding, -softmax_fill(values.dtype))


def prepare(
    name: str,
    scores: Tensor,
    labels: Tensor,
    mask: Tensor | None,
    weights: Tensor | None,
    reduction: str,
    *,
    k: int | None = None,
    graded_labels: bool = True,
) -> LossInputs:
    """Validate a loss's inputs: shapes, dtypes, ``reduction`` and ``k``
    (:func:`~rankwise.functional._checks.check_k`), and the labels at real items, the same
    check as the metrics' (:func:`~rankwise.functional._checks.check_label_values`: finite,
    and >= 0 when ``graded_labels``), screened by one reduction."""
    check_reduction(reduction, name)
    check_k(k, name)
    one_list = scores.dim() == 1 and weights is not None and weights.dim() == 1
    if one_list and weights is not None and weights.numel() == scores.shape[0]:
        weights = weights.unsqueeze(0)  # one list's per-item weights
    empty = scores.dim() == 2 and scores.shape[1] == 0
    scores, labels, mask = check_list_shapes(scores, labels, mask, name)
    if empty and weights is not None and weights.dim() == 2:
        weights = torch.cat([weights, weights.new_zeros(weights.shape[0], 1)], dim=1)
    if not scores.is_floating_point():
        raise TypeError(f"{name}: scores must be floating point, got {scores.dtype}")
    # Half precision (autocast) computes in float32; float64 stays float64.
    dtype = torch.float64 if scores.dtype == torch.float64 else torch.float32
    scores = scores.to(dtype)
    labels = labels.to(device=scores.device, dtype=dtype)
    if mask is not None:
        mask = mask.to(scores.device)
    check_label_values(labels, mask, name, graded=graded_labels)
    list_w = item_w = None
    if weights is not None:
        w = weights.to(device=scores.device, dtype=dtype)
        if w.shape == (scores.shape[0],):
            list_w = w
        elif w.shape == scores.shape:
            item_w = w if mask is None else w.masked_fill(~mask, 0.0)
        else:
            raise ValueError(
                f"{name}: weights must be [batch] (per list) or [batch, list] (per item), "
                f"got {tuple(w.shape)}"
            )
    return LossInputs(scores, labels, mask, list_w, item_w)


def finish(values: Tensor, qualifies: Tensor, inputs: LossInputs, reduction: Reduction) -> Tensor:
    """Zero non-qualifying lists, apply list weights, reduce (the one reduction rule)."""
    # masked_fill (not a product): a non-qualifying list's value may be inf or NaN.
    values = values.masked_fill(~qualifies, 0.0)
    if inputs.list_weights is not None:
        values = values * inputs.list_weights
    return reduce_lists(values, qualifies, reduction, zeroed=True)


def softmax_fill(dtype: torch.dtype) -> float:
    """Magnitude of the finite stand-in for -inf at masked positions before a softmax.

    ``finfo.max / 8``: with it at the masked positions, a softmax gives them exactly 0 and
    a log-softmax stays finite for every real value in (-finfo.max / 8 + 104,
    finfo.max * 7 / 8) (float32: about +-3e37), i.e. any score or label a model or a data
    set produces; a list without real items gets a uniform softmax, finite, which the
    caller excludes. -inf would need a separate fill for such lists and a mask on every
    product with a log-softmax (0 * -inf is NaN).
    """
    return torch.finfo(dtype).max / 8


def pad_column(mask: Tensor, has_items: Tensor, dtype: torch.dtype) -> Tensor:
    """[B, 1] fill value for masked positions before a softmax: -inf, or 0 in a list
    without any real item (so that no NaN appears in the forward pass or the gradient;
    callers exclude those lists from the result)."""
    column = torch.zeros((mask.shape[0], 1), dtype=dtype, device=mask.device)
    return column.masked_fill_(has_items.unsqueeze(1), NEG_INF)


def masked_scores(scores: Tensor, mask: Tensor) -> Tensor:
    """Scores with masked positions at -inf (for softmax / log-sum-exp over real items).

    Rows without any real item get 0 everywhere instead (:func:`pad_column`).
    """
    return torch.where(mask, scores, pad_column(mask, mask.sum(dim=1) > 0, scores.dtype))


def log_softmax_masked(scores: Tensor, mask: Tensor) -> Tensor:
    """log softmax over real items; 0 at masked positions (never -inf, never NaN)."""
    out = torch.log_softmax(masked_scores(scores, mask), dim=1)
    return out.masked_fill(~mask, 0.0)


class _SoftmaxCrossEntropy(torch.autograd.Function):
    r"""Autograd function of :func:`softmax_cross_entropy`, reduction included: the
    forward pass keeps the log-softmax, the backward pass is
    :math:`g c_b (\operatorname{softmax}(s) \sum p - p)`, three tensor operations each
    way beside the masking, and one autograd node for the whole loss (the call is short
    enough for per-operation overhead to be most of its time)."""

    @staticmethod
    def forward(
        ctx: Any,
        scores: Tensor,
        target: Tensor,
        padding: Tensor | None,
        skipped: Tensor,
        coefficients: Tensor,
        reduce: bool,
        unit_mass: bool,
    ) -> Tensor:
        # Masked positions hold -softmax_fill (finite, see softmax_fill): their
        # probability is exactly 0 and their log-probability finite, so a 0 target there
        # adds exactly 0; whatever the caller's scores hold there is never read.
        if padding is not None:
            scores = scores.masked_fill(padding, -softmax_fill(scores.dtype))
        log_p = torch.log_softmax(scores, dim=1)
        ctx.save_for_backward(log_p, target, padding, coefficients)
        ctx.unit_mass = unit_mass
        # one dot product per list: -sum_i p_i log softmax(s)_i; skipped lists are 0
        # (masked, not multiplied: their value may be inf or NaN)
        values: Tensor = torch.linalg.vecdot(target, log_p)
        values.neg_().masked_fill_(skipped, 0.0)
        if reduce:
            total: Tensor = torch.linalg.vecdot(values, coefficients)
            return total
        return values.mul_(coefficients)

    @staticmethod
    def backward(
        ctx: Any, grad: Tensor
    ) -> tuple[Tensor | None, Tensor | None, None, None, None, None, None]:
        log_p, target, padding, coefficients = ctx.saved_tensors
        g = (grad * coefficients).unsqueeze(1)  # 0 for skipped lists
        d_scores = d_target = None
        if ctx.needs_input_grad[0]:
            # d/ds = softmax(s) sum(p) - p: 0 at masked positions (softmax and p are 0
            # there). The softmax of the log-softmax (shift-invariant), not its exp: at
            # masked positions the exp underflows, which torch.exp does several times
            # slower than softmax's own exponential after its max shift.
            d_scores = torch.softmax(log_p, dim=1)
            if not ctx.unit_mass:
                d_scores.mul_(target.sum(dim=1, keepdim=True))
            d_scores.sub_(target).mul_(g)
        if ctx.needs_input_grad[1]:
            d_target = log_p * g.neg()
            if padding is not None:
                d_target.masked_fill_(padding, 0.0)
        return d_scores, d_target, None, None, None, None, None


def softmax_cross_entropy(
    inputs: LossInputs,
    target: Tensor,
    qualifies: Tensor,
    reduction: Reduction,
    *,
    unit_mass: bool = False,
) -> Tensor:
    r"""The reduced loss of the per-list :math:`-\sum_i p_i \log
    \operatorname{softmax}(s)_i` over each list's real items, lists where ``qualifies``
    [B] is False counting 0 (value and gradient), list weights and ``reduction`` applied
    by the one rule (:func:`~rankwise.functional._reduction.reduction_coefficients`):
    what ``finish(values, qualifies, inputs, reduction)`` would return.

    ``target`` p [B, L] must be 0 at masked positions; it need not sum to 1
    (``unit_mass=True`` promises that every list's p sums to 1, as a softmax's does, and
    saves the sum in the backward pass). Gradients flow to the scores and, when it
    requires one, to the target (distillation through a teacher).
    """
    padding = None if inputs.dense else inputs.padding
    dtype = inputs.raw_scores.dtype
    weights = inputs.list_weights
    if weights is not None and weights.requires_grad:
        # learnable list weights: per-list values, then the rule with autograd (the
        # fused node has no gradient for its coefficients)
        values: Tensor = _SoftmaxCrossEntropy.apply(  # type: ignore[no-untyped-call]
            inputs.raw_scores,
            target,
            padding,
            ~qualifies,
            qualifies.to(dtype),
            False,
            unit_mass,
        )
        return finish(values, qualifies, inputs, reduction)
    coefficients = reduction_coefficients(qualifies, weights, reduction, dtype)
    out: Tensor = _SoftmaxCrossEntropy.apply(  # type: ignore[no-untyped-call]
        inputs.raw_scores,
        target,
        padding,
        ~qualifies,
        coefficients,
        reduction != "none",
        unit_mass,
    )
    return out


def normalize_target(labels: Tensor, mask: Tensor, *, empty: str = "zero") -> Tensor:
    """``labels / sum(labels)`` over real items; lists summing to 0 get 0 (or uniform)."""
    total = labels.sum(dim=1, keepdim=True)
    out = labels / torch.where(total > 0, total, torch.ones_like(total))
    if empty == "uniform":
        uniform = mask.to(labels.dtype) / mask.sum(dim=1, keepdim=True).clamp(min=1)
        out = torch.where(total > 0, out, uniform)
    return out


def reverse_logcumsumexp(x: Tensor, mask: Tensor) -> Tensor:
    """``log sum_{u >= t} exp(x_u)`` over real items u, per position t; 0 where masked.

    ``mask`` must be a prefix (real items first) when used for Plackett-Luce losses; the
    masked positions are put at -inf *before* the cumulative sum, so they add nothing.
    (The Plackett-Luce losses use a faster path on the CPU: ``plackett_luce``.)
    """
    safe = masked_scores(x, mask)
    out = torch.logcumsumexp(safe.flip(1), dim=1).flip(1)
    return out.masked_fill(~mask, 0.0)


# ----------------------------------------------------------------------------- pairs
PairLoss = Callable[[Tensor, Tensor, Tensor], Tensor]  # (s_i - s_j, y_i, y_j) -> loss
PairWeights = Callable[[slice], Tensor | None]  # rows -> [B, rows, L] weights


def pair_select(
    kind: str, y_i: Tensor, y_j: Tensor, m_i: Tensor, m_j: Tensor, rows: slice
) -> Tensor:
    """Which pairs (i, j) count: both real, and ``kind`` decides on the labels.

    ``"ordered"``: y_i > y_j (every pair once, preferred item first); ``"all"``: every pair
    including i = j; ``"distinct"``: every pair with i != j.
    """
    valid = m_i & m_j
    if kind == "ordered":
        return valid & (y_i > y_j)
    if kind == "all":
        return valid
    if kind == "distinct":
        length = m_j.shape[-1]
        i = torch.arange(rows.start or 0, (rows.start or 0) + m_i.shape[1], device=m_i.device)
        j = torch.arange(length, device=m_i.device)
        return valid & (i.view(1, -1, 1) != j.view(1, 1, -1))
    raise ValueError(f"unknown pair selection {kind!r}")


def pair_sums(
    scores: Tensor,
    labels: Tensor,
    mask: Tensor,
    pair_loss: PairLoss,
    *,
    select: str = "ordered",
    pair_weights: PairWeights | None = None,
    pair_keep: Callable[[slice], Tensor | None] | None = None,
    cap: float | None = None,
    constants: Sequence[Tensor | None] = (),
    budget: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-list sum of pair losses and number of selected pairs, [B] each.

    Rows of the [B, L, L] pair matrix are processed in chunks of about ``budget``
    elements (default :data:`PAIR_CHUNK_ELEMENTS`). ``cap`` bounds each weighted pair
    loss from above. Values are those of the full matrix (sums in another order, float
    rounding aside).

    When only ``scores`` needs a gradient (not ``labels`` nor any of ``constants``, the
    tensors that ``pair_weights`` reads), the gradient is taken chunk by chunk during
    the forward pass and kept as one [B, L] tensor (:class:`_PairSums`): every chunk's
    intermediates are small enough to stay in the CPU cache and are freed before the
    next, so memory grows with B·L·chunk rather than B·L², with nothing recomputed.
    Otherwise the chunks are traced by autograd (under activation checkpointing when
    there are several).
    """
    batch, length = scores.shape
    budget = PAIR_CHUNK_ELEMENTS if budget is None else budget
    rows_per_chunk = max(1, budget // max(batch * length, 1))
    chunks = [slice(i, min(i + rows_per_chunk, length)) for i in range(0, length, rows_per_chunk)]

    def chunk_sum(s: Tensor, rows: slice) -> tuple[Tensor, Tensor]:
        s_i, s_j = s[:, rows].unsqueeze(2), s.unsqueeze(1)
        y_i, y_j = labels[:, rows].unsqueeze(2), labels.unsqueeze(1)
        m_i, m_j = mask[:, rows].unsqueeze(2), mask.unsqueeze(1)
        selected = pair_select(select, y_i, y_j, m_i, m_j, rows)
        if pair_keep is not None:
            keep = pair_keep(rows)
            if keep is not None:
                selected = selected & keep
        loss = pair_loss(s_i - s_j, y_i, y_j)
        # Selection folded into the (gradient-free) weights: one multiply per pair. Scores
        # at masked positions were zeroed in prepare(), so unselected losses are finite.
        weight = selected.to(s.dtype)
        if pair_weights is not None:
            w = pair_weights(rows)
            if w is not None:
                weight = weight * w
        loss = loss * weight
        if cap is not None:
            loss = loss.clamp(max=cap)
        return loss.sum(dim=(1, 2)), selected.sum(dim=(1, 2)).to(s.dtype)

    needs_grad = torch.is_grad_enabled() and scores.requires_grad
    others = (labels, *constants)
    if needs_grad and not any(t is not None and t.requires_grad for t in others):
        out: tuple[Tensor, Tensor] = _PairSums.apply(scores, chunk_sum, chunks)  # type: ignore[no-untyped-call]
        return out
    total = scores.new_zeros(batch)
    count = scores.new_zeros(batch)
    use_checkpoint = len(chunks) > 1 and needs_grad
    for rows in chunks:
        if use_checkpoint:
            part, n = checkpoint(chunk_sum, scores, rows, use_reentrant=False)
        else:
            part, n = chunk_sum(scores, rows)
        total = total + part
        count = count + n
    return total, count


#: Pair-matrix elements per chunk in :func:`pair_sums`: [64, 16, 240] float32 is 1 MiB
#: per intermediate, so a chunk's few intermediates stay in a core's cache.
PAIR_CHUNK_ELEMENTS = 1 << 18


class _PairSums(torch.autograd.Function):
    """(total, count) of :func:`pair_sums` with the gradient of each list's total taken
    chunk by chunk in the forward pass (lists are independent, so the gradient of the
    batch's sum holds every list's own). The reverse pass scales it by the incoming
    gradient; it is first-order only."""

    @staticmethod
    def forward(
        ctx: Any,
        scores: Tensor,
        chunk_sum: Callable[[Tensor, slice], tuple[Tensor, Tensor]],
        chunks: list[slice],
    ) -> tuple[Tensor, Tensor]:
        s = scores.detach().requires_grad_(True)
        total = scores.new_zeros(scores.shape[0])
        count = scores.new_zeros(scores.shape[0])
        grad = torch.zeros_like(scores)
        for rows in chunks:
            with torch.enable_grad():
                part, n = chunk_sum(s, rows)
                if part.requires_grad:
                    (g,) = torch.autograd.grad(part.sum(), s)
                    grad += g
            total += part.detach()
            count += n
        ctx.save_for_backward(grad)
        ctx.mark_non_differentiable(count)
        return total, count

    @staticmethod
    def backward(
        ctx: Any, grad_total: Tensor, grad_count: Tensor | None
    ) -> tuple[Tensor | None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "pairwise losses give first-order gradients only (create_graph=True is not "
                "supported)"
            )
        (grad,) = ctx.saved_tensors
        return grad * grad_total.unsqueeze(1), None, None
