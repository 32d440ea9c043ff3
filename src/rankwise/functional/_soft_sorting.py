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
from typing import Any, Literal

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
    s = scores.masked_fill(~m, 0.0)
    lowest = s.masked_fill(~m, float("inf")).min(dim=1, keepdim=True).values
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
    p = _neural_sort(perturbed, m.repeat(n_samples, 1), temperature)
    return p.reshape(n_samples, *s.shape, s.shape[1])


def _neural_sort(scores: Tensor, mask: Tensor, temperature: float) -> Tensor:
    s = scores.masked_fill(~mask, 0.0)
    pair = mask.unsqueeze(2) & mask.unsqueeze(1)
    # (A_s 1)_j = sum over real k of |s_j - s_k|: a row sum, not an [L, L] x [L, L] product
    a_row = ((s.unsqueeze(2) - s.unsqueeze(1)).abs() * pair).sum(dim=2)  # [B, L]
    n = mask.sum(dim=1, keepdim=True).to(s.dtype)  # [B, 1]
    ranks = torch.arange(1, s.shape[1] + 1, dtype=s.dtype, device=s.device).unsqueeze(0)  # [1, L]
    coef = n + 1.0 - 2.0 * ranks  # [B, L] per rank row
    logits = coef.unsqueeze(2) * s.unsqueeze(1) - a_row.unsqueeze(1)  # [B, rank, item]
    real_rank = ranks <= n  # [B, L]
    valid = real_rank.unsqueeze(2) & mask.unsqueeze(1)
    logits = logits.masked_fill(~valid, float("-inf"))
    # Rows of ranks beyond n (padding) would be all -inf: give them 0 logits, zero them after.
    logits = torch.where(real_rank.unsqueeze(2), logits, torch.zeros_like(logits))
    p = torch.softmax(logits / temperature, dim=2)
    return p * valid


def _matvec(matrix: Tensor, vector: Tensor) -> Tensor:
    """[B, L, L] @ [B, L] -> [B, L], as a row vector times the contiguous transpose (a
    [B, 1, L] x [B, L, L] product is about twice as fast as [B, L, L] x [B, L, 1] on CPU)."""
    return torch.bmm(vector.unsqueeze(1), matrix).squeeze(1)


class _SinkhornScales(torch.autograd.Function):
    """The scaling vectors (u, v) of Sinkhorn's iterations on K, with a hand-written
    reverse pass: it walks the iterations back with matrix-vector products and collects
    the gradient of K as one product of stacked rank-one terms, instead of the [B, L, L]
    gradient per step that autograd would materialise and add up."""

    @staticmethod
    def forward(
        ctx: Any,
        k: Tensor,
        m: Tensor,
        max_iter: int,
        tol: float,
        eps: float,
        batch_stop: bool,
    ) -> tuple[Tensor, Tensor]:
        # On the CPU the iterations run in float64: softmax matrices hold many float32
        # subnormals, and every product touching one takes a slow path (a float32
        # matrix-vector product was measured 10x slower); float64 has none in practice.
        dtype = k.dtype
        if k.device.type == "cpu" and dtype == torch.float32:
            k = k.double()
        ctx.dtype = dtype
        kt = k.transpose(1, 2).contiguous()
        b, length, _ = k.shape
        u = torch.ones(b, length, dtype=k.dtype, device=k.device)  # row scales (ranks)
        v = torch.ones_like(u)  # column scales (items)
        active = torch.ones(b, dtype=torch.bool, device=k.device)
        steps: list[tuple[Tensor, ...]] = []
        for it in range(max_iter):
            ktu = _matvec(k, u)  # K^T u
            col = v * ktu  # column sums of the iterate
            if it > 0:
                dev = ((col - 1.0).abs() * m).amax(dim=1)
                active = active & (dev >= tol)
                if not bool(active.any()):
                    break
                if batch_stop:
                    active = torch.ones_like(active)
            # A column (row) that is all zero stays zero whatever it is divided by: its
            # scale is left alone, so that it cannot overflow through repeated division.
            v_new = torch.where(col > 0, v / col.clamp(min=eps), v)
            kv = _matvec(kt, v_new)  # K v'
            row = u * kv
            u_new = torch.where(row > 0, u / row.clamp(min=eps), u)
            steps.append((u, v, ktu, col, v_new, kv, row, active.unsqueeze(1)))
            a = active.unsqueeze(1)
            v = torch.where(a, v_new, v)
            u = torch.where(a, u_new, u)
        ctx.steps = steps
        ctx.eps = eps
        ctx.save_for_backward(k, kt)
        return u.to(dtype), v.to(dtype)

    @staticmethod
    def backward(ctx: Any, grad_u: Tensor, grad_v: Tensor) -> tuple[Tensor | None, ...]:
        k, kt = ctx.saved_tensors
        eps = ctx.eps
        shape, work = k.shape[:2], k.dtype
        gu = torch.zeros(shape, dtype=work, device=k.device) if grad_u is None else grad_u.to(work)
        gv = torch.zeros(shape, dtype=work, device=k.device) if grad_v is None else grad_v.to(work)
        left: list[Tensor] = []  # grad K = sum over terms of left_t right_t^T
        right: list[Tensor] = []
        zero = torch.zeros((), dtype=k.dtype, device=k.device)
        for u, v, ktu, col, v_new, kv, row, a in reversed(ctx.steps):
            # u_next = where(a, u', u), v_next = where(a, v', v)
            g_un, g_vn = torch.where(a, gu, zero), torch.where(a, gv, zero)
            gu, gv = torch.where(a, zero, gu), torch.where(a, zero, gv)
            # u' = u / max(row, eps) where row > 0, else u (clamp passes gradient at >= eps)
            row_c = row.clamp(min=eps)
            pos = row > 0
            gu = gu + torch.where(pos, g_un / row_c, g_un)
            g_row = torch.where(pos & (row >= eps), -g_un * u / row_c**2, zero)
            # row = u * (K v')
            gu = gu + g_row * kv
            w = g_row * u
            g_vn = g_vn + _matvec(k, w)  # K^T w
            left.append(w)
            right.append(v_new)
            # v' = v / max(col, eps) where col > 0, else v
            col_c = col.clamp(min=eps)
            pos = col > 0
            gv = gv + torch.where(pos, g_vn / col_c, g_vn)
            g_col = torch.where(pos & (col >= eps), -g_vn * v / col_c**2, zero)
            # col = v * (K^T u)
            gv = gv + g_col * ktu
            w = g_col * v
            gu = gu + _matvec(kt, w)  # K w
            left.append(u)
            right.append(w)
        grad_k = None
        if ctx.needs_input_grad[0] and left:
            grad_k = torch.bmm(torch.stack(left, dim=2), torch.stack(right, dim=1)).to(ctx.dtype)
        elif ctx.needs_input_grad[0]:
            grad_k = torch.zeros_like(k, dtype=ctx.dtype)
        return grad_k, None, None, None, None, None


#: Bytes of K and K^T (float64) per group of lists scaled together by :func:`sinkhorn`:
#: about the last-level cache of a server CPU's core complex (16 lists of 240 at once).
SINKHORN_GROUP_BYTES = 16 * 1024 * 1024


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
    clamped below at ``eps``, on the block of real items only. With ``stop="list"``
    (default) a list stops as soon as its column sums are within ``tol`` of 1 (rows are
    exactly normalized by the second step), so each list's result is independent of the
    other lists in the batch. ``stop="batch"`` iterates every list until all have
    converged, as allRank does (the results then depend on the batch's slowest list).

    How: the iterates are kept in scaling form ``diag(u) K diag(v)``; a column division is
    ``v <- v / max(v * (K^T u), eps)`` and a row division ``u <- u / max(u * (K v), eps)``,
    which equals dividing the matrix (clamps included). With ``stop="list"`` the lists
    are scaled in groups of ``SINKHORN_GROUP_BYTES`` (the group's matrices stay in
    the cache across the iterations: 1.7x faster at [64, 240] on a 2-core EPYC). Each
    step is two batched matrix-vector products; the reverse pass (hand-written, checked
    by gradcheck) walks the steps back with two more and forms the gradient of K in a
    single product, so memory is K twice plus a few [B, L] vectors per step.

    Example:
        >>> p = sinkhorn(torch.tensor([[[2.0, 1.0], [1.0, 1.0]]]))
        >>> ones = torch.ones(1, 2)
        >>> torch.allclose(p.sum(1), ones, atol=1e-5), torch.allclose(p.sum(2), ones, atol=1e-5)
        (True, True)
    """
    if stop not in ("list", "batch"):
        raise ValueError(f"sinkhorn: stop must be 'list' or 'batch', got {stop!r}")
    if matrix.dim() != 3 or matrix.shape[1] != matrix.shape[2]:
        raise ValueError(f"sinkhorn: expected [batch, L, L], got {tuple(matrix.shape)}")
    b, length, _ = matrix.shape
    m = torch.ones(b, length, dtype=torch.bool, device=matrix.device) if mask is None else mask
    n = m.sum(dim=1)
    rank_real = torch.arange(length, device=matrix.device).unsqueeze(0) < n.unsqueeze(1)
    block = rank_real.unsqueeze(2) & m.unsqueeze(1)
    k = matrix * block
    # Per-list stopping makes lists independent, so they can run in groups whose
    # matrices (K and its transpose, float64 on the CPU) stay in the CPU's cache for all
    # iterations instead of streaming the whole batch from memory ~100 times; batch-wide
    # stopping needs the whole batch at once.
    rows = b if stop == "batch" else max(1, SINKHORN_GROUP_BYTES // max(1, 16 * length * length))
    us, vs = [], []
    for start in range(0, b, rows):
        part = slice(start, start + rows)
        scales = _SinkhornScales.apply(k[part], m[part], max_iter, tol, eps, stop == "batch")  # type: ignore[no-untyped-call]
        us.append(scales[0])
        vs.append(scales[1])
    u: Tensor = us[0] if len(us) == 1 else torch.cat(us)
    v: Tensor = vs[0] if len(vs) == 1 else torch.cat(vs)
    return u.unsqueeze(2) * k * v.unsqueeze(1)


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
    n = m.sum(dim=1, keepdim=True)
    rank_real = torch.arange(s.shape[1], device=s.device).unsqueeze(0) < n
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
    n = m.sum(dim=1, keepdim=True)
    rank_real = torch.arange(length, device=s.device).unsqueeze(0) < n
    p = p * (rank_real.unsqueeze(2) & m.unsqueeze(1))
    sorted_scores = torch.where(rank_real, a[:, :length], torch.zeros_like(a[:, :length]))
    return sorted_scores, p


class _PairwiseSoftRank(torch.autograd.Function):
    """:math:`\\hat r_i = 1 + \\sum_{j \ne i} m_i m_j \\sigma((s_j - s_i)/\tau)` with a
    hand-written reverse pass.

    The sum over real j is a matrix-vector product with the mask, and the diagonal term
    (:math:`\\sigma(0) = 1/2`) is subtracted rather than masked. Because
    :math:`\\sigma'` is even, :math:`W_{ij} = m_i m_j \\sigma'((s_j - s_i)/\tau)/\tau` is
    symmetric and the gradient is :math:`(W g)_i - g_i (W 1)_i`: one batched product of
    W with two vectors. Autograd would instead walk the subtraction, the division, the
    sigmoid and the masked sum, each a pass over [B, L, L]."""

    @staticmethod
    def forward(ctx: Any, s: Tensor, m: Tensor, temperature: float) -> Tensor:
        mf = m.to(s.dtype)
        sig = (s.unsqueeze(1) - s.unsqueeze(2)).div_(temperature).sigmoid_()  # [b, i, j]
        ranks = 1.0 + torch.bmm(sig, mf.unsqueeze(2)).squeeze(2) - 0.5 * mf
        ctx.save_for_backward(sig, mf)
        ctx.temperature = temperature
        return ranks * mf

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, None, None]:
        sig, mf = ctx.saved_tensors
        w = sig * (1.0 - sig)  # sigma' at every pair (the diagonal adds nothing below)
        g = grad * mf
        both = torch.bmm(w, torch.stack((g, mf), dim=2))  # [b, i, 2]: W (m g), W m
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
