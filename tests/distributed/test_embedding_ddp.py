"""An embedding model trained by the Trainer on 2 gloo processes, each with half of every
batch, takes the steps of one process on the whole batches: the contrastive loss sees
the other process's items as in-batch negatives (local gradient kept), and DDP's
averaging is undone."""

from __future__ import annotations

import os
import socket
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from rankwise.data.labelled_items import ItemBatch
from rankwise.losses import NTXentLoss
from rankwise.train.tasks import EmbeddingTask
from rankwise.train.trainer import Trainer

STEPS, BATCH = 5, 8


def _batches() -> list[ItemBatch]:
    g = torch.Generator().manual_seed(0)
    return [
        ItemBatch(torch.randn(BATCH, 6, generator=g), torch.arange(BATCH) % 4) for _ in range(STEPS)
    ]


def _train(batches: list[ItemBatch]) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    trainer = Trainer(
        model,
        EmbeddingTask(NTXentLoss(temperature=0.5)),
        torch.optim.SGD(model.parameters(), lr=0.5),
        batches,
        epochs=1,
    )
    trainer.fit()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, port: int, out: str) -> None:
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        half = slice(rank * BATCH // 2, (rank + 1) * BATCH // 2)
        mine = [ItemBatch(b.features[half], b.labels[half]) for b in _batches()]
        weights = _train(mine)
        if rank == 0:
            torch.save(weights, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(sys.platform == "win32", reason="needs torch.distributed (gloo)")
def test_two_process_embedding_training_equals_one_process(tmp_path):
    out = str(tmp_path / "rank0.pt")
    mp.spawn(_worker, args=(_free_port(), out), nprocs=2, join=True)
    two = torch.load(out, weights_only=True)
    one = _train(_batches())
    torch.manual_seed(0)
    start = nn.Linear(6, 4).state_dict()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(one[key], start[key])  # it trained
