"""All-gather with the local gradient and loss scaling, on 2 CPU processes over gloo.

Each process holds half of a batch and a copy of a linear embedder. After gathering the
embeddings, computing NT-Xent on the global batch scaled by ``ddp_loss_scale()`` and
averaging parameter gradients over processes (what DistributedDataParallel does), the
gradient must equal the single-process gradient of the loss on the whole batch.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rankwise.distributed import ddp_loss_scale, gather_embeddings, world_size
from rankwise.functional import nt_xent_loss


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    w = torch.randn(5, 4, generator=g, dtype=torch.float64)
    return x, y, w


def _worker(rank: int, port: int, out: str) -> None:
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        x, y, w = _data()
        w = w.clone().requires_grad_(True)
        shard = slice(rank * 4, rank * 4 + 4)
        emb, labels = gather_embeddings(x[shard] @ w, y[shard])
        loss = nt_xent_loss(emb, labels, temperature=0.5) * ddp_loss_scale()
        loss.backward()
        grad = w.grad.clone()
        dist.all_reduce(grad)
        grad /= world_size()
        if rank == 0:
            torch.save({"grad": grad, "loss": loss.detach() / ddp_loss_scale()}, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(
    not dist.is_available() or sys.platform == "win32", reason="needs torch.distributed"
)
def test_two_process_gradient_equals_single_process(tmp_path):
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_worker, args=(_free_port(), out), nprocs=2, join=True)
    result = torch.load(out, weights_only=True)
    x, y, w = _data()
    w = w.clone().requires_grad_(True)
    loss = nt_xent_loss(x @ w, y, temperature=0.5)
    loss.backward()
    torch.testing.assert_close(result["loss"], loss.detach())
    torch.testing.assert_close(result["grad"], w.grad)


def test_single_process_is_a_no_op():
    x = torch.randn(3, 2, requires_grad=True)
    gathered, labels = gather_embeddings(x, torch.tensor([0, 1, 2]))
    assert gathered is x and labels.tolist() == [0, 1, 2] and ddp_loss_scale() == 1
