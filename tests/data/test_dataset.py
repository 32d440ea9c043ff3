"""From RankingData to padded, masked batches: collate, sampling, length grouping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rankwise.data import (
    LengthGroupedBatchSampler,
    RankingCollator,
    RankingData,
    RankingDataset,
    make_loader,
    make_synthetic,
)


def _data(lengths, width=3, relevant_at=None) -> RankingData:
    n = sum(lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    labels = np.zeros(n, np.float32)
    if relevant_at is not None:
        labels[relevant_at] = 2
    return RankingData(
        features=np.arange(1, n * width + 1, dtype=np.float32).reshape(n, width),
        labels=labels,
        query_offsets=offsets,
        qids=np.arange(len(lengths)) + 10,
    )


def test_collate_pads_to_the_longest_list_with_masked_zeros():
    data = _data([3, 1, 2])
    ds = RankingDataset(data)
    batch = RankingCollator()([ds[0], ds[1], ds[2]])
    assert batch.features.shape == (3, 3, 3)
    assert batch.mask.tolist() == [[True] * 3, [True, False, False], [True, True, False]]
    assert (batch.features[~batch.mask] == 0).all()
    assert (batch.labels[~batch.mask] == 0).all()
    np.testing.assert_array_equal(batch.features[1, 0].numpy(), data.features[3])
    assert batch.qids.tolist() == [10, 11, 12]
    assert batch.query_index.tolist() == [0, 1, 2]
    assert batch.num_documents == 6


def test_fixed_slate_length_and_padding_multiple():
    ds = RankingDataset(_data([3, 1]))
    assert RankingCollator(slate_length=5)([ds[0], ds[1]]).slate_length == 5
    assert RankingCollator(pad_to_multiple_of=4)([ds[0], ds[1]]).slate_length == 4
    with pytest.raises(ValueError, match="more than slate_length=2"):
        RankingCollator(slate_length=2)([ds[0]])
    with pytest.raises(ValueError, match="cannot exceed slate_length"):
        RankingCollator(slate_length=2, max_list_length=3)


def test_sampling_is_seeded_keeps_order_and_is_counted():
    ds = RankingDataset(_data([50]))

    def sample(seed: int) -> list[float]:
        collate = RankingCollator(max_list_length=10, generator=torch.Generator().manual_seed(seed))
        batch = collate([ds[0]])
        assert collate.stats.sampled_lists == 1
        assert collate.stats.dropped_documents == 40
        return batch.features[0, :, 0].tolist()

    a, b, c = sample(1), sample(1), sample(2)
    assert a == b
    assert a != c
    assert a == sorted(a)  # original order kept
    assert len(set(a)) == 10


def test_keep_relevant_swaps_in_a_relevant_item():
    data = _data([200], relevant_at=[150])  # one relevant item among 200
    ds = RankingDataset(data)
    hits_kept = hits_free = 0
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        hits_kept += int(RankingCollator(max_list_length=5, generator=g)([ds[0]]).labels.sum() > 0)
        g = torch.Generator().manual_seed(seed)
        free = RankingCollator(max_list_length=5, keep_relevant=False, generator=g)
        hits_free += int(free([ds[0]]).labels.sum() > 0)
    assert hits_kept == 20
    assert hits_free < 5


def test_length_grouped_batches_cover_every_query_once_with_less_padding():
    lengths = np.random.default_rng(0).integers(1, 200, size=500)
    sampler = LengthGroupedBatchSampler(
        lengths, 16, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(500))

    def padding(batches_) -> int:
        return sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches_)

    rng = np.random.default_rng(1)
    random_batches = np.array_split(rng.permutation(500), len(batches))
    assert padding(batches) < 0.3 * padding(random_batches)
    again = list(
        LengthGroupedBatchSampler(
            lengths, 16, shuffle=True, generator=torch.Generator().manual_seed(0)
        )
    )
    assert again == batches


def test_unshuffled_sampler_is_deterministic_and_drop_last():
    sampler = LengthGroupedBatchSampler([3, 1, 2, 5, 4], 2, shuffle=False)
    assert list(sampler) == [[3, 4], [0, 2], [1]]
    assert len(sampler) == 3
    dropped = LengthGroupedBatchSampler([3, 1, 2, 5, 4], 2, shuffle=False, drop_last=True)
    assert list(dropped) == [[3, 4], [0, 2]]
    assert len(dropped) == 2


def test_make_loader_evaluation_sees_every_document_once():
    data = make_synthetic(40, num_features=8, seed=5)
    seen = 0
    for batch in make_loader(data, batch_size=7):
        seen += batch.num_documents
        for b, q in enumerate(batch.query_index.tolist()):
            features, labels = data.query(q)
            k = labels.size
            np.testing.assert_array_equal(batch.features[b, :k].numpy(), features)
    assert seen == data.num_documents


def test_make_loader_training_is_reproducible_for_a_seed():
    data = make_synthetic(40, num_features=8, seed=5)

    def run(seed: int) -> list[torch.Tensor]:
        loader = make_loader(
            data, 8, shuffle=True, generator=torch.Generator().manual_seed(seed), max_list_length=20
        )
        return [b.labels for b in loader]

    a, b = run(3), run(3)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert max(x.shape[1] for x in a) <= 20


def test_batch_to_device_keeps_metadata():
    ds = RankingDataset(_data([2, 1]))
    batch = RankingCollator()([ds[0], ds[1]]).to("cpu")
    assert batch.features.device.type == "cpu"
    assert batch.qids.tolist() == [10, 11]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batch_moves_to_cuda_pinned():
    ds = RankingDataset(_data([2, 1]))
    batch = RankingCollator()([ds[0], ds[1]]).pin_memory().to("cuda", non_blocking=True)
    assert batch.features.is_cuda and batch.mask.dtype == torch.bool
