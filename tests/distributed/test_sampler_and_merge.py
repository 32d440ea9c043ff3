"""The distributed sampler's shares and the merging of per-process metric values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankwise.data.samplers import DistributedLengthGroupedBatchSampler, LengthGroupedBatchSampler
from rankwise.metrics.accumulator import MetricAccumulator


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 50), min_size=1, max_size=120),
    batch=st.integers(1, 9),
    world=st.integers(1, 4),
    seed=st.integers(0, 10),
    epoch=st.integers(0, 3),
)
def test_shares_partition_the_global_batches(lengths, batch, world, seed, epoch):
    samplers = [
        DistributedLengthGroupedBatchSampler(lengths, batch, world, r, seed=seed, group_batches=3)
        for r in range(world)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    shares = [list(s) for s in samplers]
    # the global batches one process with batch x world draws for this epoch
    generator = torch.Generator().manual_seed(seed + epoch)
    whole = list(
        LengthGroupedBatchSampler(lengths, batch * world, generator=generator, group_batches=3)
    )
    kept = [b for b in whole if len(b) >= world]
    assert all(len(share) == len(kept) for share in shares)  # every process steps alike
    for step, global_batch in enumerate(kept):
        parts = [share[step] for share in shares]
        assert [i for part in parts for i in part] == global_batch  # whole queries, in order
        sizes = [len(part) for part in parts]
        assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    dropped = sum(len(b) for b in whole if len(b) < world)
    assert all(s.dropped_queries == dropped for s in samplers)
    assert dropped < world * math.ceil(len(lengths) / (batch * world * 3))  # one per group


def test_the_epoch_reseeds_the_order():
    sampler = DistributedLengthGroupedBatchSampler(np.arange(1, 41), 2, 2, 0, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first != second


def test_a_bad_rank_is_named():
    with pytest.raises(ValueError, match="rank 2 of 2"):
        DistributedLengthGroupedBatchSampler([3, 4], 1, 2, 2)


def test_merged_accumulators_give_the_single_accumulator_values():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(30, 12, generator=g)
    labels = torch.randint(0, 3, (30, 12), generator=g).float()
    one = MetricAccumulator(["ndcg@5", "map"])
    one.update(scores, labels, qids=list(range(30)))
    parts = []
    for rank in range(3):  # every third query, added in another order
        rows = list(range(rank, 30, 3))[::-1]
        part = MetricAccumulator(["ndcg@5", "map"])
        part.update(scores[rows], labels[rows], qids=rows)
        parts.append(part)
    merged = MetricAccumulator(["ndcg@5", "map"])
    for part in parts[::-1]:
        merged.merge(part)
    assert merged.num_queries == 30
    assert merged.compute() == one.compute()  # exactly rounded sums: order-free means
    assert merged.lists_without_relevant == one.lists_without_relevant


def test_a_query_in_two_shares_is_an_error():
    a, b = MetricAccumulator(["ndcg@5"]), MetricAccumulator(["ndcg@5"])
    a.update(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]), qids=["q1"])
    b.update(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), qids=["q1"])
    with pytest.raises(ValueError, match="q1"):
        a.merge(b)
    with pytest.raises(ValueError, match="cannot merge"):
        a.merge(MetricAccumulator(["map"]))
