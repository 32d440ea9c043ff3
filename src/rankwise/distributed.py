"""Contrastive losses across processes: gather embeddings, keep the local gradient.

In data-parallel training each process holds a shard of the batch, but a contrastive
loss should see every other process's items as negatives. The recipe:

1. ``all_x, all_y = gather_embeddings(x, y)``: every process gets the global batch; the
   rows of its own shard stay connected to its graph (the other shards are constants:
   their gradients are computed by the processes that own them);
2. ``loss = loss_fn(all_x, all_y) * ddp_loss_scale()``: every process computes the same
   global loss. The gradient reaching the local shard is the global loss's gradient with
   respect to that shard; DistributedDataParallel *averages* parameter gradients over the
   W processes, so the loss is multiplied by W to make the average equal the gradient of
   the global loss (without it, learning would slow down W-fold).

Outside ``torch.distributed`` (or with one process) both are no-ops.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    """Number of processes in the default group (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def all_gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` [n, ...] from every process along dim 0, in rank order.

    The local rank's slice is ``x`` itself (gradient kept); the others are received
    copies without gradient. Every process must pass the same shape.
    """
    if world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(parts, x.detach().contiguous())
    parts[dist.get_rank()] = x
    return torch.cat(parts, dim=0)


def gather_embeddings(embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """The global batch: embeddings with the local gradient kept, and labels."""
    return all_gather_with_grad(embeddings), all_gather_with_grad(labels)


def ddp_loss_scale() -> int:
    """The factor (the world size) by which to multiply a loss computed on the gathered
    global batch so that DDP's gradient averaging yields the global loss's gradient."""
    return world_size()
