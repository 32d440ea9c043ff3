"""Training on several processes with ``torch.distributed``: the process group, gathering
with the local gradient kept, and exchanging plain values.

:class:`DistributedSession` starts the process group ``torchrun`` describes in the
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``):
NCCL when training on CUDA, gloo on the CPU. :func:`gather_lists` gives every process
the global batch of a list loss, :func:`gather_embeddings` that of a contrastive loss.

Contrastive losses across processes: gather embeddings, keep the local gradient.

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

import datetime
import gc
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    """Number of processes in the default group (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank in the default group (0 when not distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def in_process_group() -> bool:
    """True when a default process group exists (under ``torchrun``, even of one
    process)."""
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    """True on rank 0 (and when not distributed): the process that writes files."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when the environment describes a process group (``torchrun`` sets
    ``WORLD_SIZE`` and ``RANK``)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


class DistributedSession:
    """The process group of a ``torchrun`` launch, as a context manager.

    On entry, when :func:`launched_by_torchrun` and no group exists yet, the default
    group is started from the environment: backend ``"nccl"`` when ``device`` is CUDA,
    else ``"gloo"``; on CUDA each process takes the GPU ``cuda:LOCAL_RANK``. On exit the
    group it started is destroyed. Outside torchrun it does nothing, and
    ``self.device`` is ``device`` unchanged.

    Args:
        device: where the model trains (``cpu`` or ``cuda``).
        timeout_s: how long a collective waits for the other processes before failing
            (a process that died makes the others fail instead of hang forever).
    """

    def __init__(self, device: torch.device, *, timeout_s: float = 1800.0) -> None:
        self.device = device
        self.timeout_s = timeout_s
        self.started = False

    @property
    def backend(self) -> str:
        """``"nccl"`` on CUDA, ``"gloo"`` on the CPU."""
        return "nccl" if self.device.type == "cuda" else "gloo"

    def __enter__(self) -> DistributedSession:
        if not launched_by_torchrun() or dist.is_initialized():
            return self
        if self.device.type == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        dist.init_process_group(self.backend, timeout=datetime.timedelta(seconds=self.timeout_s))
        self.started = True
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if not (self.started and dist.is_initialized()):
            return
        if kind is None:
            # Every process leaves together: a process that tears its group down while
            # a peer is still finishing (rank 0 writes the report) could abort at exit
            # (gloo's "terminate called without an active exception").
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()
        # objects still holding the group (a DistributedDataParallel in a reference
        # cycle) are freed now, while the interpreter is alive, not at its finalization
        gc.collect()
        dist.destroy_process_group()
        self.started = False


def all_gather_objects(value: Any) -> list[Any]:
    """``value`` of every process, in rank order (picklable values; ``[value]`` when not
    distributed)."""
    if world_size() == 1:
        return [value]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, value)
    return out


def broadcast_object(value: Any, source: int = 0) -> Any:
    """Rank ``source``'s ``value`` on every process (``value`` when not distributed)."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=source)
    return box[0]


def all_reduce_max(value: int) -> int:
    """The largest ``value`` over the processes."""
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def gather_lists(
    scores: Tensor, mask: Tensor, *others: Tensor | None
) -> tuple[Tensor, Tensor, list[Tensor | None]]:
    """The global batch of a list loss: every process's lists, in rank order.

    ``scores`` and ``mask`` are ``[b, L]`` with ``b`` and ``L`` free to differ between
    processes; ``others`` are further per-item ``[b, L]`` or per-list ``[b]`` tensors
    (labels, list weights, teacher scores; None passes through). Each process's block is
    padded to the largest ``L`` (masked out) and ``b``, gathered, and the padding rows
    are dropped again, so the result is exactly the batch one process would have built
    from the same lists (up to padding columns, which every rankwise loss ignores). The
    local scores keep their gradient; the others' are constants, as in
    :func:`all_gather_with_grad`: a loss of the global batch multiplied by
    :func:`ddp_loss_scale` then gives, after DDP's averaging, the gradient of that loss.
    """
    if world_size() == 1:
        return scores, mask, list(others)
    b, length = scores.shape
    rows = all_gather_objects(b)
    longest = all_reduce_max(length)
    most = max(rows)

    def padded(x: Tensor, fill: float | bool) -> Tensor:
        out = x.new_full((most, longest) if x.dim() == 2 else (most,), fill)
        if x.dim() == 2:
            out[:b, : x.shape[1]] = x
        else:
            out[:b] = x
        return out

    def gather(x: Tensor, fill: float | bool, *, grad: bool = False) -> Tensor:
        parts = [torch.empty_like(padded(x, fill)) for _ in rows]
        local = padded(x, fill)
        dist.all_gather(parts, local.detach().contiguous())
        if grad:
            parts[rank()] = local
        return torch.cat([part[:n] for part, n in zip(parts, rows, strict=True)], dim=0)

    gathered = [
        None if x is None else gather(x, 0.0 if x.dtype.is_floating_point else 0) for x in others
    ]
    return gather(scores, 0.0, grad=True), gather(mask, False), gathered


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


def gather_rows(x: Tensor) -> tuple[Tensor, list[int]]:
    """Concatenate ``x`` [n, ...] from every process along dim 0, in rank order, where
    ``n`` may differ between processes (the trailing dimensions may not); also returns
    every process's ``n``. The local rows keep their gradient, as in
    :func:`all_gather_with_grad`."""
    if world_size() == 1:
        return x, [x.shape[0]]
    rows = all_gather_objects(int(x.shape[0]))
    most = max(rows)
    padded = x.new_zeros((most, *x.shape[1:]))
    padded[: x.shape[0]] = x.detach()
    parts = [torch.empty_like(padded) for _ in range(world_size())]
    dist.all_gather(parts, padded.contiguous())
    pieces = [part[:n] for part, n in zip(parts, rows, strict=True)]
    pieces[dist.get_rank()] = x
    return torch.cat(pieces, dim=0), rows


def gather_embeddings(embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """The global batch: embeddings with the local gradient kept, and labels."""
    return all_gather_with_grad(embeddings), all_gather_with_grad(labels)


def ddp_loss_scale() -> int:
    """The factor (the world size) by which to multiply a loss computed on the gathered
    global batch so that DDP's gradient averaging yields the global loss's gradient."""
    return world_size()
