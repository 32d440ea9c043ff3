"""Tiled InfoNCE: the contrastive loss of a [N, M] similarity matrix without materialising it.

Following Inf-CL ("Breaking the Memory Barrier: Near Infinite Batch Size Scaling for
Contrastive Loss", Cheng et al. 2024): the log-sum-exp over keys is accumulated tile by
tile (a running maximum and sum, as in online softmax), and the backward pass recomputes
each tile's logits instead of storing them. Memory is O(N·D + tile_q·tile_k) rather than
O(N·M); compute is one extra matrix product per tile (the recomputation).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rankwise.functional._checks import Reduction, check_embeddings
from rankwise.functional._embedding.similarity import reduce_elements


def _tiles(n: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


class _TiledInfoNCE(torch.autograd.Function):
    """Per-query losses ``lse_j(q_i·k_j·scale) - q_i·k_pos(i)·scale``, tile by tile."""

    @staticmethod
    def forward(
        ctx: Any, q: Tensor, k: Tensor, positives: Tensor, scale: float, tile: int
    ) -> Tensor:
        n, m = q.shape[0], k.shape[0]
        lse = torch.empty(n, dtype=q.dtype, device=q.device)
        for rows in _tiles(n, tile):
            q_b = q[rows]
            running_max = torch.full((q_b.shape[0],), float("-inf"), dtype=q.dtype, device=q.device)
            running_sum = torch.zeros(q_b.shape[0], dtype=q.dtype, device=q.device)
            for cols in _tiles(m, tile):
                logits = (q_b @ k[cols].T) * scale
                tile_max = logits.amax(dim=1)
                new_max = torch.maximum(running_max, tile_max)
                running_sum = running_sum * torch.exp(running_max - new_max) + torch.exp(
                    logits - new_max.unsqueeze(1)
                ).sum(dim=1)
                running_max = new_max
            lse[rows] = running_max + running_sum.log()
        positive_logit = (q * k[positives]).sum(dim=1) * scale
        ctx.save_for_backward(q, k, positives, lse)
        ctx.scale, ctx.tile = scale, tile
        return lse - positive_logit

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        q, k, positives, lse = ctx.saved_tensors
        scale, tile = ctx.scale, ctx.tile
        grad = grad.to(q.dtype)
        dq = torch.zeros_like(q)
        dk = torch.zeros_like(k)
        # d loss_i / d logit_ij = softmax_ij - 1[j = pos(i)], times the upstream grad_i.
        for rows in _tiles(q.shape[0], tile):
            q_b = q[rows]
            g_b = grad[rows].unsqueeze(1)
            lse_b = lse[rows].unsqueeze(1)
            for cols in _tiles(k.shape[0], tile):
                k_c = k[cols]
                weights = torch.exp((q_b @ k_c.T) * scale - lse_b) * g_b
                dq[rows] += weights @ k_c
                dk[cols] += weights.T @ q_b
        dq -= grad.unsqueeze(1) * k[positives]
        dk.index_add_(0, positives, -grad.unsqueeze(1) * q)
        return dq * scale, dk * scale, None, None, None


def tiled_info_nce_loss(
    queries: Tensor,
    keys: Tensor,
    *,
    positives: Tensor | None = None,
    temperature: float = 0.07,
    normalize: bool = True,
    symmetric: bool = False,
    tile_size: int = 1024,
    reduction: Reduction = "mean",
) -> Tensor:
    r"""InfoNCE computed block by block: the same value and gradient as
    :func:`rankwise.functional.info_nce_loss` (cosine similarity when ``normalize``, dot
    product otherwise) in memory O(N·D + tile²) instead of O(N·M).

    Query i's positive is key ``positives[i]`` (default key i); the loss of query i is
    :math:`\log\sum_j e^{s_{ij}} - s_{i,\text{pos}(i)}`, :math:`s = \langle q, k\rangle/\tau`.
    ``symmetric`` adds the key-to-query direction and halves (CLIP). ``tile_size`` rows
    and columns per block trade memory for per-block overhead. Elements: one per query.

    Example:
        >>> from rankwise.functional import info_nce_loss
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> dense = info_nce_loss(q, q, temperature=1.0)
        >>> torch.allclose(tiled_info_nce_loss(q, q, temperature=1.0, tile_size=1), dense)
        True
    """
    from rankwise.functional._embedding.losses import _positives

    check_embeddings(queries, "tiled_info_nce_loss", "queries")
    check_embeddings(keys, "tiled_info_nce_loss", "keys")
    if tile_size < 1:
        raise ValueError(f"tiled_info_nce_loss: tile_size must be >= 1, got {tile_size}")
    target = _positives(
        positives, queries.shape[0], keys.shape[0], symmetric, "tiled_info_nce_loss"
    ).to(queries.device)
    if normalize:
        queries, keys = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)
    scale = 1.0 / temperature
    values: Tensor = _TiledInfoNCE.apply(  # type: ignore[no-untyped-call]
        queries, keys, target, scale, tile_size
    )
    if not symmetric:
        return reduce_elements(values, reduction)
    back: Tensor = _TiledInfoNCE.apply(  # type: ignore[no-untyped-call]
        keys, queries, target, scale, tile_size
    )
    if reduction == "none":
        return torch.stack([values, back])
    return (reduce_elements(values, reduction) + reduce_elements(back, reduction)) / 2
