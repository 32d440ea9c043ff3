r"""Differentiable sorting and ranking, batched and masked.

Permutation matrices follow one convention: ``P[b, r, i]`` is (the relaxation of) the
probability that item i is at rank r (0-based, best first: descending scores), so
``P @ x`` sorts values x and ``P.transpose(1, 2) @ f(rank)`` gives each item its expected
f(rank). Rows and columns of masked items are 0; the block of real items occupies the
first ``n`` ranks of each list.

What the temperatures trade: lower ``temperature`` (or higher ``steepness``) gives
matrices closer to the hard permutation — more faithful, but with gradients that
vanish or explode near ties; higher values give smooth, informative gradients for a
blurrier sort.

- :func:`neural_sort` — NeuralSort (Grover et al. 2019): row r is
  :math:`\operatorname{softmax}(((n + 1 - 2r) s - A_s \mathbf 1) / \tau)`,
  :math:`(A_s)_{ij} = |s_i - s_j|`; rows sum to 1 (unimodal row-stochastic). The
  stochastic variant perturbs (log-)scores with Gumbel noise from a generator.
- :func:`sinkhorn` — Sinkhorn scaling to a doubly stochastic matrix, per list, until
  rows and columns are within ``tol`` of 1 or ``max_iter`` is reached.
- :func:`soft_sort` — SoftSort (Prillo & Eisenschlos 2020): row r is
  :math:`\operatorname{softmax}(-|s_{[r]} - s| / \tau)` with :math:`s_{[r]}` the r-th largest score.
- :func:`sorting_network` — differentiable sorting networks (Petersen et al. 2021,
  diffsort): odd-even transposition (n layers) or bitonic (log² n layers) comparators
  relaxed with a logistic of ``steepness``; doubly stochastic by construction.
- :func:`soft_rank` — expected 1-based ranks: pairwise sigmoids
  :math:`1 + \sum_{j \ne i} \sigma((s_j - s_i)/\tau)` or from a NeuralSort matrix.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor


def _check(scores: Tensor, mask: Tensor | None, name: str) -> Tensor:
    if scores.dim() != 2:
        raise ValueError(f"{name}: scores must be [batch, list], got {tuple(scores.shape)}")
    if mask is None:
        return torch.ones(scores.shape, dtype=torch.bool, device=scores.device)
    if mask.shape != scores.shape or mask.dtype != torch.bool:
        raise ValueError(f"{name}: mask must be a bool tensor shaped like scores")
    return mask.to(scores.device)


def neural_sort(
    scores: Tensor,
    mask: Tensor | None = None,
    *,
    temperature: float = 1.0,
    stochastic: bool = False,
    n_samples: int = 32,
    beta: float = 0.1,
    log_scores: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """NeuralSort relaxed permutation matrices (module docstring).

    Returns [B, L, L], or [S, B, L, L] with ``stochastic=True`` (S = ``n_samples``
    Gumbel-perturbed samples: scores shifted to be positive, optionally logged, plus
    ``beta`` times standard Gumbel noise drawn from ``generator``).

    Example:
        >>> p = neural_sort(torch.tensor([[3.0, 1.0, 2.0]]), temperature=0.01)
        >>> p.argmax(dim=2)  # rank r holds item p[0, r].argmax()
        tensor([[0, 2, 1]])
    """
    if temperature <= 0:
        raise ValueError(f"neural_sort: temperature must be > 0, got {temperature}")
    m = _check(scores, mask, "neural_sort")
    if not stochastic:
        return _neural_sort(scores, m, temperature)
    s, ms = sample_scores(
        scores, m, n_samples=n_samples, beta=beta, log_scores=log_scores, generator=generator
    )
    return _neural_sort(s, ms, temperature).reshape(n_samples, *scores.shape, scores.shape[1])


def sample_scores(
    scores: Tensor,
    mask: Tensor,
    *,
    n_samples: int,
    beta: float,
    log_scores: bool,
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor]:
    """Stochastic NeuralSort's perturbed scores [S * B, L] and their mask: scores shifted
    so that the list's lowest real one is 0, optionally logged (``log(x + 1e-10)``), plus
    ``beta`` times standard Gumbel noise from ``generator`` (sample-major)."""
    s = scores.masked_fill(~mask, 0.0)
    lowest = s.masked_fill(~mask, float("inf")).min(dim=1, keepdim=True).values
    lowest = torch.where(torch.isfinite(lowest), lowest, torch.zeros_like(lowest))
    positive = s - lowest
    if log_scores:
        positive = torch.log(positive + 1e-10)
    u = torch.rand(
        (n_samples, *s.shape),
        generator=generator,
        device=s.device if generator is None else generator.device,
        dtype=s.dtype,
    ).to(s.device)
    gumbel = -torch.log(-torch.log(u + 1e-10) + 1e-10)
    perturbed = (positive.unsqueeze(0) + beta * gumbel).reshape(-1, s.shape[1])
    return perturbed, mask.repeat(n_samples, 1)


class _AbsDifferenceSums(torch.autograd.Function):
    """:math:`a_j = \\sum_{k\\ \\text{real}} |s_j - s_k|` for real j (0 at padding) in
    O(L log L) per list: with the real scores sorted, a_j = s_j (below_j - above_j) -
    (sum below) + (sum above), counting strictly smaller and larger scores (a tie adds
    nothing). The reverse pass uses the same counts: ∂a_j/∂s_l is sign(s_j - s_l) for
    l ≠ j, so the gradient of s_l is :math:`\\sum_k \\operatorname{sign}(s_l - s_k)(g_l +
    g_k)` with sign(0) = 0, as autograd of ``abs`` gives; prefix sums run in float64."""

    @staticmethod
    def forward(ctx: Any, s: Tensor, m: Tensor) -> Tensor:
        x = s.double().masked_fill(~m, float("inf"))
        ordered, order = x.sort(dim=1)
        below = torch.searchsorted(ordered, x, side="left")
        right = torch.searchsorted(ordered, x, side="right")
        n = m.sum(dim=1, keepdim=True)
        above = n - right
        cum = _prefix_sums(ordered.masked_fill(~torch.isfinite(ordered), 0.0))
        total = cum[:, -1:]
        sums = x.masked_fill(~m, 0.0) * (below - above) - cum.gather(1, below)
        sums = sums + total - cum.gather(1, right)
        ctx.save_for_backward(order, below, right, above, m)
        return sums.masked_fill(~m, 0.0).to(s.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None]:
        order, below, right, above, m = ctx.saved_tensors
        g = grad.double().masked_fill(~m, 0.0)
        cum = _prefix_sums(g.gather(1, order))
        total = cum[:, -1:]
        out = g * (below - above) + cum.gather(1, below)
        out = out - (total - cum.gather(1, right))
        return out.masked_fill(~m, 0.0).to(grad.dtype), None


def _prefix_sums(x: Tensor) -> Tensor:
    """[B, L] -> [B, L + 1]: 0, x_1, x_1 + x_2, ..."""
    return torch.nn.functional.pad(x.cumsum(dim=1), (1, 0))


def _flush_level(dtype: torch.dtype) -> float:
    """Entries of a NeuralSort matrix below this are set to 0 (see :class:`_NeuralSortRows`)."""
    return torch.finfo(dtype).tiny * 2.0**30


class _NeuralSortRows(torch.autograd.Function):
    """Row r = softmax over items of :math:`((n + 1 - 2r) s - a) / \\tau` for every rank
    row r (padded rank rows included: the callers mask or ignore them), 0 at padded items.

    One broadcast multiply-add forms the logits and one softmax normalises them: the
    reverse pass is the softmax's (:math:`P \\odot (G - \\operatorname{rowsum}(P \\odot G))`)
    followed by one batched product that gives both :math:`\\sum_r c_r \\ell_{rl}` and
    :math:`\\sum_r \\ell_{rl}`, instead of autograd's walk through the masks and the
    pairwise differences (each a pass over [B, L, L]).

    With ``flush`` the entries below :func:`_flush_level` (2^30 times the smallest normal
    number, 1.3e-29 in float32) are set to 0: every row and column holds an entry of at
    least 1/n (a row's largest; an item is the largest of its own rank's row), so they are
    below the dtype's resolution next to it, and products with them would be subnormal,
    which CPUs compute many times slower."""

    @staticmethod
    def forward(
        ctx: Any, s: Tensor, a: Tensor, m: Tensor, temperature: float, flush: bool
    ) -> Tensor:
        n = m.sum(dim=1, keepdim=True).to(s.dtype)
        ranks = torch.arange(1, s.shape[1] + 1, dtype=s.dtype, device=s.device).unsqueeze(0)
        coef = (n + 1.0 - 2.0 * ranks) / temperature  # [B, L] per rank row
        # Padded items get -inf logits; a list without real items keeps finite ones (its
        # rows are all padding, and a row of -inf would give NaN).
        offset = torch.where(m | (n == 0), -a / temperature, float("-inf"))
        logits = torch.addcmul(offset.unsqueeze(1), coef.unsqueeze(2), s.unsqueeze(1))
        p = torch.softmax(logits, dim=2)
        del logits
        if flush:
            torch.threshold_(p, _flush_level(p.dtype), 0.0)
        ctx.save_for_backward(p, coef)
        ctx.temperature = temperature
        ctx.flush = flush
        return p

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        p, coef = ctx.saved_tensors
        row_dot = torch.bmm(p.reshape(-1, 1, p.shape[2]), grad.reshape(-1, p.shape[2], 1))
        row_dot = row_dot.reshape(p.shape[0], p.shape[1], 1)
        # Inside rankwise's own losses (``flush``) the incoming gradient is a fresh
        # tensor that nothing else reads: it is reused instead of allocating another.
        reuse = ctx.flush and grad.is_contiguous()
        g_logits = (grad.sub_(row_dot) if reuse else grad - row_dot).mul_(p)
        both = torch.bmm(torch.stack((coef, torch.ones_like(coef)), dim=1), g_logits)
        return both[:, 0], both[:, 1] / -ctx.temperature, None, None, None


def neural_sort_rows(scores: Tensor, mask: Tensor, temperature: float, flush: bool) -> Tensor:
    """NeuralSort matrices [B, L, L] whose rows of padded ranks are left as they come (see
    :class:`_NeuralSortRows`; :func:`neural_sort` zeroes them). ``flush`` drops the
    entries that would make subnormal products, and marks the matrix as consumed only
    inside rankwise (its gradient buffer is then reused)."""
    s = scores.masked_fill(~mask, 0.0)
    a = _AbsDifferenceSums.apply(s, mask)  # type: ignore[no-untyped-call]
    p: Tensor = _NeuralSortRows.apply(s, a, mask, temperature, flush)  # type: ignore[no-untyped-call]
    return p


def _neural_sort(scores: Tensor, mask: Tensor, temperature: float) -> Tensor:
    p = neural_sort_rows(scores, mask, temperature, flush=False)
    real_rank = _real_ranks(mask)
    return p.masked_fill(~real_rank.unsqueeze(2), 0.0)


def _real_ranks(mask: Tensor) -> Tensor:
    """[B, L] bool: rank r (0-based) is below the list's number of real items."""
    n = mask.sum(dim=1, keepdim=True)
    return torch.arange(mask.shape[1], device=mask.device).unsqueeze(0) < n


def _matvec(matrix: Tensor, vector: Tensor) -> Tensor:
    """[B, L] x [B, L, L] -> [B, L]: ``vector^T matrix`` per list (a [B, 1, L] x [B, L, L]
    product is several times faster than [B, L, L] x [B, L, 1] on CPU, so products with
    K use its contiguous transpose)."""
    return torch.bmm(vector.unsqueeze(1), matrix).squeeze(1)


class _Step(NamedTuple):
    """What one Sinkhorn step keeps for the reverse pass ([lists, L] each); the scales
    before and after it are rows of the group's scale buffers."""

    ktu: Tensor  # K^T u
    col: Tensor  # column sums v * K^T u
    col_den: Tensor  # max(col, eps), 1 at columns left alone
    kv: Tensor  # K v'
    row: Tensor
    row_den: Tensor
    active: Tensor | None  # [lists, 1] lists still iterating; None when all are


class _Scaled(NamedTuple):
    """One group's iterations: ``us[:, t]`` and ``vs[:, t]`` are the scales before step t
    (row ``len(steps)`` holds the final ones; one spare row of ``vs`` serves the bilinear
    form's term in the reverse pass)."""

    k: Tensor
    kt: Tensor
    us: Tensor  # [lists, steps + 2, L]
    vs: Tensor
    steps: list[_Step]


def _scale(
    k: Tensor,
    m: Tensor,
    row_free: Tensor,
    col_free: Tensor,
    max_iter: int,
    tol: float,
    eps: float,
    batch_stop: bool,
) -> _Scaled:
    """Sinkhorn's iterations on one group of lists, in scaling form (see :func:`sinkhorn`)."""
    kt = k.transpose(1, 2).contiguous()
    mf = m.to(k.dtype)
    us = torch.empty(k.shape[0], max_iter + 2, k.shape[1], dtype=k.dtype, device=k.device)
    vs = torch.empty_like(us)
    us[:, 0] = _real_ranks(m).to(k.dtype)  # row scales (ranks): 0 outside the block
    vs[:, 0] = mf  # column scales (items)
    steps: list[_Step] = []
    for it in range(max_iter):
        u, v = us[:, it], vs[:, it]
        ktu = _matvec(k, u)
        col = v * ktu
        active: Tensor | None = None
        if it > 0:
            # A list that stopped keeps its scales, so its deviation stays below tol.
            deviation = torch.linalg.vector_norm(col - mf, ord=math.inf, dim=1)
            low, high = torch.aminmax(deviation)
            if float(high) < tol:
                break
            if float(low) < tol and not batch_stop:
                active = (deviation >= tol).unsqueeze(1)
        # Rows and columns left alone (all zero) divide by 1, the others by max(sum, eps).
        col_den = (col + col_free).clamp_(min=eps)
        v_new = _divide_into(v, col_den, active, vs[:, it + 1])
        kv = _matvec(kt, v_new)
        row = u * kv
        row_den = (row + row_free).clamp_(min=eps)
        _divide_into(u, row_den, active, us[:, it + 1])
        steps.append(_Step(ktu, col, col_den, kv, row, row_den, active))
    return _Scaled(k, kt, us, vs, steps)


def _divide_into(x: Tensor, den: Tensor, active: Tensor | None, out: Tensor) -> Tensor:
    """x / den into ``out`` for the active lists (x for the others); returns x / den.

    The stopped lists' rows of ``out`` then hold their unchanged scales, which is what
    the reverse pass needs there: their gradients are 0 at every later step."""
    if active is None:
        return torch.div(x, den, out=out)
    new = x / den
    torch.where(active, new, x, out=out)
    return new


def _unscale(group: _Scaled, gu: Tensor, gv: Tensor, eps: float, terms: Tensor) -> None:
    """The reverse pass of :func:`_scale`, from the gradients of the final scales.

    The gradient of K is a sum of rank-one terms, two per step: (w, v') from the row sums
    (K v') and (u, w2) from the column sums (K^T u). The w's go into rows of ``terms``
    ([lists, 2 * steps + 1, L]: w of step t at t, w2 at steps + 1 + t; row ``steps`` is
    the caller's) so that the sum is two
    matrix products with the scale buffers."""
    k, kt, us, vs, steps = group
    n = len(steps)
    zero = torch.zeros((), dtype=k.dtype, device=k.device)
    for it in range(n - 1, -1, -1):
        st = steps[it]
        u, v, u_new, v_new = us[:, it], vs[:, it], us[:, it + 1], vs[:, it + 1]
        if st.active is None:
            g_un, g_vn = gu, gv
        else:  # u_next = where(active, u', u), v_next likewise
            g_un, g_vn = gu * st.active, gv * st.active
            gu, gv = gu * ~st.active, gv * ~st.active
        # u' = u / row_den, row_den = max(row, eps) (or 1 where the row is left alone;
        # the clamp passes the gradient at row >= eps): d u'/d row = -u' / row_den
        t = g_un / st.row_den
        h = torch.where(st.row >= eps, t * u_new, zero)  # minus the gradient of row
        gu_step = torch.addcmul(t, h, st.kv, value=-1.0)  # row = u * (K v')
        w = torch.addcmul(zero, h, u, value=-1.0, out=terms[:, it])  # grad of K v'
        g_vn = torch.baddbmm(g_vn.unsqueeze(1), w.unsqueeze(1), k).squeeze(1)
        t = g_vn / st.col_den  # v' = v / col_den, col = v * (K^T u)
        h = torch.where(st.col >= eps, t * v_new, zero)
        gv_step = torch.addcmul(t, h, st.ktu, value=-1.0)
        w = torch.addcmul(zero, h, v, value=-1.0, out=terms[:, n + 1 + it])  # grad of K^T u
        gu_step = torch.baddbmm(gu_step.unsqueeze(1), w.unsqueeze(1), kt).squeeze(1)
        if st.active is None:
            gu, gv = gu_step, gv_step
        else:
            gu, gv = gu + gu_step, gv + gv_step


class _SinkhornScales(torch.autograd.Function):
    """The scaling vectors (u, v) of Sinkhorn's iterations on K, and optionally the
    bilinear form :math:`x = a^\\top \\operatorname{diag}(u) K \\operatorname{diag}(v) b`,
    with a hand-written reverse pass: it walks the iterations back with matrix-vector
    products and forms the gradient of K from the stacked rank-one terms in two matrix
    products, instead of the [B, L, L] gradient per step that autograd would materialise
    and add up.

    u starts at the mask of real ranks and v at the mask of real items, so rows and
    columns outside the block of real items stay 0 without masking K. ``row_free`` and
    ``col_free`` are 1 at the rows and columns of the block that are all zero (left
    alone: divided by 1). The lists run in groups of ``group`` (see :func:`sinkhorn`)."""

    @staticmethod
    def forward(
        ctx: Any,
        k: Tensor,
        m: Tensor,
        row_free: Tensor,
        col_free: Tensor,
        a: Tensor | None,
        b: Tensor | None,
        max_iter: int,
        tol: float,
        eps: float,
        batch_stop: bool,
        group: int,
    ) -> tuple[Tensor, Tensor, Tensor]:
        parts = [slice(start, start + group) for start in range(0, k.shape[0], group)]
        groups = [
            _scale(k[p], m[p], row_free[p], col_free[p], max_iter, tol, eps, batch_stop)
            for p in parts
        ]
        u = torch.cat([g.us[:, len(g.steps)] for g in groups])
        v = torch.cat([g.vs[:, len(g.steps)] for g in groups])
        x = torch.zeros(k.shape[0], dtype=k.dtype, device=k.device)
        kta = None
        if a is not None and b is not None:
            kta = torch.cat([_matvec(g.k, u[p] * a[p]) for p, g in zip(parts, groups, strict=True)])
            x = (kta * v * b).sum(dim=1)  # (u a)^T K (v b)
        ctx.parts, ctx.groups, ctx.eps = parts, groups, eps
        ctx.save_for_backward(u, v, a, b, kta)
        return u, v, x

    @staticmethod
    def backward(
        ctx: Any, grad_u: Tensor | None, grad_v: Tensor | None, grad_x: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        u_end, v_end, a, b, kta = ctx.saved_tensors
        gu = torch.zeros_like(u_end) if grad_u is None else grad_u
        gv = torch.zeros_like(v_end) if grad_v is None else grad_v
        grad_a = grad_b = None
        if grad_x is not None and a is not None and b is not None:
            gx = grad_x.unsqueeze(1)
            kvb = torch.cat(
                [_matvec(g.kt, v_end[p] * b[p]) for p, g in zip(ctx.parts, ctx.groups, strict=True)]
            )
            gu = gu + gx * a * kvb
            gv = gv + gx * b * kta
            grad_a, grad_b = gx * u_end * kvb, gx * v_end * kta
        grad_k = None
        if ctx.needs_input_grad[0]:  # a and b need only the final scales (above)
            grad_k = _grad_k(ctx.parts, ctx.groups, gu, gv, ctx.eps, grad_x, u_end, v_end, a, b)
        return grad_k, None, None, None, grad_a, grad_b, None, None, None, None, None


def _grad_k(
    parts: list[slice],
    groups: list[_Scaled],
    gu: Tensor,
    gv: Tensor,
    eps: float,
    grad_x: Tensor | None,
    u_end: Tensor,
    v_end: Tensor,
    a: Tensor | None,
    b: Tensor | None,
) -> Tensor:
    """The gradient of K: each group's steps walked back (:func:`_unscale`), then
    grad K = sum_t w_t v'_t^T + u_t w2_t^T (+ the bilinear form's term, which takes the
    spare rows: terms[:, n] and vs[:, n + 1]) as two matrix products."""
    length = u_end.shape[1]
    grad_k = torch.empty((len(u_end), length, length), dtype=u_end.dtype, device=u_end.device)
    for p, group in zip(parts, groups, strict=True):
        n = len(group.steps)
        terms = torch.empty(
            group.us.shape[0], 2 * n + 1, length, dtype=u_end.dtype, device=u_end.device
        )
        _unscale(group, gu[p], gv[p], eps, terms)
        if grad_x is not None and a is not None and b is not None:
            terms[:, n] = grad_x[p].unsqueeze(1) * u_end[p] * a[p]
            group.vs[:, n + 1] = v_end[p] * b[p]
        else:
            terms[:, n] = 0.0
            group.vs[:, n + 1] = 0.0
        out = grad_k[p]
        torch.bmm(terms[:, : n + 1].transpose(1, 2), group.vs[:, 1 : n + 2], out=out)
        if n:
            out.baddbmm_(group.us[:, :n].transpose(1, 2), terms[:, n + 1 :])
    return grad_k


#: Bytes of K and K^T per group of lists scaled together on the CPU by :func:`sinkhorn`:
#: about the last-level cache of a server CPU's core complex (36 lists of 240 in float32).
SINKHORN_GROUP_BYTES = 16 * 1024 * 1024


def _sinkhorn_scales(
    k: Tensor,
    m: Tensor,
    row_free: Tensor,
    col_free: Tensor,
    a: Tensor | None,
    b: Tensor | None,
    max_iter: int,
    tol: float,
    eps: float,
    stop: Literal["list", "batch"],
) -> tuple[Tensor, Tensor, Tensor]:
    """(u, v, x) of :class:`_SinkhornScales`, with the group size chosen.

    Per-list stopping makes lists independent, so on the CPU they run in groups whose
    matrices (K and its transpose) stay in the cache for all iterations instead of
    streaming the whole batch from memory ~100 times; batch-wide stopping needs the whole
    batch at once, and a GPU gains nothing from groups."""
    if stop not in ("list", "batch"):
        raise ValueError(f"sinkhorn: stop must be 'list' or 'batch', got {stop!r}")
    batch, length, _ = k.shape
    group = max(1, batch)
    if stop == "list" and k.device.type == "cpu":
        group = max(1, SINKHORN_GROUP_BYTES // max(1, 2 * k.element_size() * length * length))
    out: tuple[Tensor, Tensor, Tensor] = _SinkhornScales.apply(  # type: ignore[no-untyped-call]
        k, m, row_free, col_free, a, b, max_iter, tol, eps, stop == "batch", group
    )
    return out


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision matrices are scaled in float32 (50 divisions in bf16 drift far)."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def sinkhorn(
    matrix: Tensor,
    mask: Tensor | None = None,
    *,
    max_iter: int = 50,
    tol: float = 1e-6,
    eps: float = 1e-10,
    stop: Literal["list", "batch"] = "list",
) -> Tensor:
    """Sinkhorn scaling of non-negative [B, L, L] matrices to doubly stochastic ones.

    Alternately divides by column sums (over ranks) and row sums (over items), each
    clamped below at ``eps``, on the block of real items only (rows of ranks beyond the
    list's n real items and columns of masked items are 0 in the result). With
    ``stop="list"`` (default) a list stops as soon as its column sums are within ``tol``
    of 1 (rows are exactly normalized by the second step), so each list's result is
    independent of the other lists in the batch. ``stop="batch"`` iterates every list
    until all have converged, as allRank does (the results then depend on the batch's
    slowest list). A row or column that is all zero stays zero.

    How: the iterates are kept in scaling form ``diag(u) K diag(v)``; a column division is
    ``v <- v / max(v * (K^T u), eps)`` and a row division ``u <- u / max(u * (K v), eps)``,
    which equals dividing the matrix (clamps included). With ``stop="list"`` the lists
    are scaled on the CPU in groups of ``SINKHORN_GROUP_BYTES`` (the group's matrices
    stay in the cache across the iterations: 1.7x faster at [64, 240] on a 2-core EPYC).
    Each step is two batched matrix-vector products; the reverse pass (hand-written,
    checked by gradcheck) walks the steps back with two more and forms the gradient of K
    in two matrix products, so memory is K twice plus a few [B, L] vectors per step.
    Half-precision inputs are scaled in float32. Entries below 2^30 times the dtype's
    smallest normal number (1.3e-29 in float32) are set to 0 when every row and column
    of the block has an entry at least 2^24 times larger (so they are below float
    resolution next to it): products with them would be subnormal, which CPUs compute
    many times slower. A matrix without such large entries is scaled as it is.

    Example:
        >>> p = sinkhorn(torch.tensor([[[2.0, 1.0], [1.0, 1.0]]]))
        >>> ones = torch.ones(1, 2)
        >>> torch.allclose(p.sum(1), ones, atol=1e-5), torch.allclose(p.sum(2), ones, atol=1e-5)
        (True, True)
    """
    if matrix.dim() != 3 or matrix.shape[1] != matrix.shape[2]:
        raise ValueError(f"sinkhorn: expected [batch, L, L], got {tuple(matrix.shape)}")
    b, length, _ = matrix.shape
    m = torch.ones(b, length, dtype=torch.bool, device=matrix.device) if mask is None else mask
    k = matrix.to(_work_dtype(matrix.dtype)) * (_real_ranks(m).unsqueeze(2) & m.unsqueeze(1))
    row_max, col_max = k.amax(dim=2), k.amax(dim=1)
    level = _flush_level(k.dtype)
    # Entries that would make subnormal products are dropped when they are far below
    # float resolution next to every row's and column's largest entry (as in NeuralSort
    # matrices); otherwise they are kept, and the iterations are merely slower.
    largest = torch.cat((row_max, col_max), dim=1).detach()
    if float(torch.where(largest > 0, largest, math.inf).amin()) >= level * 2.0**24:
        torch.threshold_(k, level, 0.0)
    row_free = (row_max == 0).to(k.dtype)
    col_free = (col_max == 0).to(k.dtype)
    u, v, _ = _sinkhorn_scales(k, m, row_free, col_free, None, None, max_iter, tol, eps, stop)
    return (u.unsqueeze(2) * k * v.unsqueeze(1)).to(matrix.dtype)


def sinkhorn_bilinear(
    matrix: Tensor,
    mask: Tensor,
    rank_weights: Tensor,
    item_weights: Tensor,
    *,
    max_iter: int = 50,
    tol: float = 1e-6,
    eps: float = 1e-10,
    stop: Literal["list", "batch"] = "list",
) -> Tensor:
    """:math:`a^\\top S(K)\\, b` per list, [B], where S(K) = ``sinkhorn(K, mask, ...)``,
    a = ``rank_weights`` [B, L] (or [1, L]) and b = ``item_weights`` [B, L], without
    forming S(K): it is :math:`(u \\odot a)^\\top K (v \\odot b)` in the scaling vectors,
    and its gradient with respect to K joins the rank-one terms of Sinkhorn's reverse pass.
    This is the DCG of NeuralNDCG (a: discounts, b: gains) in both of its forms.

    ``matrix`` must come from :func:`neural_sort_rows` (rows of padded ranks may be
    nonzero, columns of padded items are 0): the real block's rows and columns are then
    never all zero, which spares the scan for them."""
    k = matrix.to(_work_dtype(matrix.dtype))
    a = rank_weights.to(k.dtype).expand(k.shape[0], -1)
    b = item_weights.to(k.dtype)
    # NeuralSort rows and columns of real items are never all zero (a row's largest entry
    # is at least 1/n, and each item is the largest of its own rank's row): only the
    # padding is left alone.
    row_free = (~_real_ranks(mask)).to(k.dtype)
    col_free = (~mask).to(k.dtype)
    _, _, x = _sinkhorn_scales(k, mask, row_free, col_free, a, b, max_iter, tol, eps, stop)
    return x.to(matrix.dtype)


def soft_sort(scores: Tensor, mask: Tensor | None = None, *, temperature: float = 1.0) -> Tensor:
    """SoftSort relaxed permutation matrices [B, L, L] (module docstring).

    Example:
        >>> soft_sort(torch.tensor([[3.0, 1.0, 2.0]]), temperature=0.01).argmax(dim=2)
        tensor([[0, 2, 1]])
    """
    if temperature <= 0:
        raise ValueError(f"soft_sort: temperature must be > 0, got {temperature}")
    m = _check(scores, mask, "soft_sort")
    s = scores.masked_fill(~m, 0.0)
    sorted_s = s.masked_fill(~m, float("-inf")).sort(dim=1, descending=True).values
    rank_real = _real_ranks(m)
    sorted_s = torch.where(rank_real, sorted_s, torch.zeros_like(sorted_s))
    logits = -(sorted_s.unsqueeze(2) - s.unsqueeze(1)).abs() / temperature
    valid = rank_real.unsqueeze(2) & m.unsqueeze(1)
    logits = logits.masked_fill(~valid, float("-inf"))
    logits = torch.where(rank_real.unsqueeze(2), logits, torch.zeros_like(logits))
    return torch.softmax(logits, dim=2) * valid


def _odd_even_layers(n: int) -> list[list[tuple[int, int]]]:
    return [[(i, i + 1) for i in range(layer % 2, n - 1, 2)] for layer in range(n)]


def _bitonic_layers(n: int) -> list[list[tuple[int, int]]]:
    """Comparators of a bitonic sorter on n = 2^m wires; (i, j) puts the larger at i."""
    layers = []
    k = 2
    while k <= n:
        j = k // 2
        while j >= 1:
            layer = []
            for i in range(n):
                partner = i ^ j
                if partner > i:
                    descending = (i & k) == 0
                    layer.append((i, partner) if descending else (partner, i))
            layers.append(layer)
            j //= 2
        k *= 2
    return layers


def sorting_network(
    scores: Tensor,
    mask: Tensor | None = None,
    *,
    network: Literal["odd_even", "bitonic"] = "odd_even",
    steepness: float = 10.0,
) -> tuple[Tensor, Tensor]:
    """Differentiable sorting network: ``(sorted_scores [B, L], P [B, L, L])``.

    Each comparator (i, j) moves the soft maximum to i and the soft minimum to j with
    weight :math:`\\alpha = \\sigma(\\text{steepness} \\cdot (a_i - a_j))`, and mixes the
    rows of P the same way, so P stays doubly stochastic. Masked items enter as a value
    far below every real score, sink to the end, and are zeroed in P. ``bitonic`` pads
    the list to a power of two.

    Example:
        >>> _, p = sorting_network(torch.tensor([[3.0, 1.0, 2.0]]), steepness=100.0)
        >>> p.argmax(dim=2)
        tensor([[0, 2, 1]])
    """
    if steepness <= 0:
        raise ValueError(f"sorting_network: steepness must be > 0, got {steepness}")
    m = _check(scores, mask, "sorting_network")
    b, length = scores.shape
    s = scores.masked_fill(~m, 0.0)
    real = s.masked_fill(~m, float("inf"))
    low = real.min(dim=1, keepdim=True).values
    span = (s.masked_fill(~m, float("-inf")).max(dim=1, keepdim=True).values - low).abs()
    low = torch.where(torch.isfinite(low), low, torch.zeros_like(low))
    span = torch.where(torch.isfinite(span), span, torch.zeros_like(span))
    sink = (low - 10.0 * (span + 1.0) - 100.0 / steepness).detach()
    a = torch.where(m, s, sink.expand_as(s))
    width = length
    if network == "bitonic":
        width = 1 << max(0, math.ceil(math.log2(max(length, 1))))
        if width > length:
            a = torch.cat([a, sink.expand(b, width - length)], dim=1)
        layers = _bitonic_layers(width)
    elif network == "odd_even":
        layers = _odd_even_layers(width)
    else:
        raise ValueError(
            f"sorting_network: network must be 'odd_even' or 'bitonic', got {network!r}"
        )
    p = torch.eye(width, dtype=s.dtype, device=s.device).expand(b, width, width).clone()
    for layer in layers:
        if not layer:
            continue
        idx_i = torch.tensor([i for i, _ in layer], device=s.device)
        idx_j = torch.tensor([j for _, j in layer], device=s.device)
        a_i, a_j = a[:, idx_i], a[:, idx_j]
        alpha = torch.sigmoid(steepness * (a_i - a_j))
        new_a = a.clone()
        new_a[:, idx_i] = alpha * a_i + (1 - alpha) * a_j
        new_a[:, idx_j] = (1 - alpha) * a_i + alpha * a_j
        p_i, p_j = p[:, idx_i], p[:, idx_j]
        al = alpha.unsqueeze(2)
        new_p = p.clone()
        new_p[:, idx_i] = al * p_i + (1 - al) * p_j
        new_p[:, idx_j] = (1 - al) * p_i + al * p_j
        a, p = new_a, new_p
    p = p[:, :length, :length]
    rank_real = _real_ranks(m)
    p = p * (rank_real.unsqueeze(2) & m.unsqueeze(1))
    sorted_scores = torch.where(rank_real, a[:, :length], torch.zeros_like(a[:, :length]))
    return sorted_scores, p


# Lists per block of the pairwise soft rank: about 256 KiB of pair matrix, so a block
# stays in a core's L2 cache between the passes over it.
SOFT_RANK_BLOCK_BYTES = 1 << 18


class _PairwiseSoftRank(torch.autograd.Function):
    """:math:`\\hat r_i = 1 + \\sum_{j \\ne i} m_i m_j \\sigma((s_j - s_i)/\\tau)` with a
    hand-written reverse pass, a block of lists at a time.

    The sum over real j is a matrix-vector product with the mask, and the diagonal term
    (:math:`\\sigma(0) = 1/2`) is subtracted rather than masked. Because
    :math:`\\sigma'` is even, :math:`W_{ij} = m_i m_j \\sigma'((s_j - s_i)/\\tau)/\\tau` is
    symmetric and the gradient is :math:`(W g)_i - g_i (W 1)_i`: one batched product of
    W with two vectors. The [b, L, L] sigmoids are never stored: each block of lists is
    formed in one reused cache-sized buffer, in the forward pass and again in the
    backward pass (recomputing is cheaper than a fresh [B, L, L] tensor's page faults
    and memory traffic: 10.8 -> 6.6 ms at [64, 240] on one core)."""

    @staticmethod
    def _sigmoids(out: Tensor, s: Tensor, temperature: float) -> Tensor:
        """``out`` [rows, L, L] := sigma((s_j - s_i) / tau) for the rows of ``s``."""
        torch.sub(s.unsqueeze(1), s.unsqueeze(2), out=out)
        if temperature != 1.0:
            out.mul_(1.0 / temperature)
        return out.sigmoid_()

    @staticmethod
    def _blocks(s: Tensor) -> tuple[int, Tensor]:
        b, n = s.shape
        # a block per thread's L2 on the CPU (the operations split a block between the
        # threads); on a GPU one launch per list would cost more than it saves: 256 MiB
        if s.device.type == "cpu":
            budget = SOFT_RANK_BLOCK_BYTES * torch.get_num_threads()
        else:
            budget = 1 << 28
        rows = max(1, min(b, budget // max(1, n * n * s.element_size())))
        return rows, s.new_empty((rows, n, n))

    @staticmethod
    def forward(ctx: Any, s: Tensor, m: Tensor, temperature: float) -> Tensor:
        mf = m.to(s.dtype)
        sums = torch.empty_like(s)
        rows, buffer = _PairwiseSoftRank._blocks(s)
        for a in range(0, s.shape[0], rows):
            z = min(a + rows, s.shape[0])
            sig = _PairwiseSoftRank._sigmoids(buffer[: z - a], s[a:z], temperature)
            torch.bmm(sig, mf[a:z].unsqueeze(2), out=sums[a:z].unsqueeze(2))
        ctx.save_for_backward(s, mf)
        ctx.temperature = temperature
        return sums.add_(1.0).sub_(0.5 * mf).mul_(mf)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None]:
        s, mf = ctx.saved_tensors
        g = grad * mf
        vectors = torch.stack((g, mf), dim=2)  # [b, L, 2]
        both = torch.empty_like(vectors)  # W (m g), W m
        rows, buffer = _PairwiseSoftRank._blocks(s)
        for a in range(0, s.shape[0], rows):
            z = min(a + rows, s.shape[0])
            w = _PairwiseSoftRank._sigmoids(buffer[: z - a], s[a:z], ctx.temperature)
            w.addcmul_(w, w, value=-1.0)  # sigma' = sigma - sigma^2 (the diagonal: no effect)
            torch.bmm(w, vectors[a:z], out=both[a:z])
        out = (both[..., 0] * mf - g * both[..., 1]) / ctx.temperature
        return out, None, None


def soft_rank(
    scores: Tensor,
    mask: Tensor | None = None,
    *,
    temperature: float = 1.0,
    method: Literal["pairwise", "neural_sort", "bound"] = "pairwise",
) -> Tensor:
    r"""Expected 1-based ranks [B, L] (0 at masked items).

    ``"pairwise"``: :math:`1 + \sum_{j \ne i,\,\text{real}} \sigma((s_j - s_i)/\tau)` (Qin et al.
    2010's smooth rank, Rax's ``approx_ranks``); ``"bound"``: the same sum with the step
    :math:`[x \ge 0]` replaced by its upper bound :math:`\operatorname{relu}(x + 1)` (Rax's
    ``bound_t12n``; ``temperature`` unused); ``"neural_sort"``: :math:`P^\top (1, 2, ...)`
    from :func:`neural_sort`.

    Example:
        >>> soft_rank(torch.tensor([[3.0, 1.0, 2.0]]), temperature=0.01).round()
        tensor([[1., 3., 2.]])
    """
    m = _check(scores, mask, "soft_rank")
    s = scores.masked_fill(~m, 0.0)
    ranks: Tensor
    if method == "pairwise":
        ranks = _PairwiseSoftRank.apply(s, m, temperature)  # type: ignore[no-untyped-call]
    elif method == "bound":
        pair = m.unsqueeze(1) & m.unsqueeze(2)
        eye = torch.eye(s.shape[1], dtype=torch.bool, device=s.device).unsqueeze(0)
        diff = s.unsqueeze(1) - s.unsqueeze(2)  # [b, i, j]: s_j - s_i
        ranks = 1.0 + (torch.relu(diff + 1.0) * (pair & ~eye)).sum(dim=2)
    elif method == "neural_sort":
        p = _neural_sort(s, m, temperature)
        positions = torch.arange(1, s.shape[1] + 1, dtype=s.dtype, device=s.device)
        ranks = (p * positions.view(1, -1, 1)).sum(dim=1)
    else:
        raise ValueError(
            f"soft_rank: method must be 'pairwise', 'bound' or 'neural_sort', got {method!r}"
        )
    return ranks * m
