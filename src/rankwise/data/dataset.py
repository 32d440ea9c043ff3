"""From :class:`RankingData` to padded, masked batches.

- :class:`RankingDataset` indexes queries of a data set (no copy of the arrays).
- :class:`RankingCollator` pads a list of queries into a :class:`RankingBatch`
  (``features [B, L, F]``, ``labels [B, L]``, ``mask [B, L]`` with True = real item,
  ``qids [B]``), to the longest list of the batch or to a fixed ``slate_length``, and can
  sample long lists down to ``max_list_length`` during training.
- :class:`~rankwise.data.samplers.LengthGroupedBatchSampler` forms batches of similar
  list lengths, which cuts the padding (and the work spent on it) without giving up
  shuffling.
- :func:`make_loader` puts the three together in a ``torch.utils.data.DataLoader``.

Padded positions hold features 0 and labels 0 and are masked out; sentinels such as
label -1 never leave the loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader, Dataset

from rankwise.data.ranking_data import RankingData
from rankwise.data.samplers import LengthGroupedBatchSampler


@dataclass
class RankingBatch:
    """A padded batch of ranking lists.

    Attributes:
        features: [B, L, F] float32, zeros at padded positions.
        labels: [B, L] float32 graded relevance, zeros at padded positions.
        mask: [B, L] bool, True marks a real item.
        qids: [B] the query identifiers (numpy; metadata, never moved to a device).
        query_index: [B] int64 position of each query in its data set.
        teacher: [B, L] float32 teacher scores (distillation), zeros at padded
            positions; None when the data set carries none.
    """

    features: torch.Tensor
    labels: torch.Tensor
    mask: torch.Tensor
    qids: npt.NDArray[Any]
    query_index: torch.Tensor
    teacher: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.labels.shape[0])

    @property
    def slate_length(self) -> int:
        """L, the padded list length."""
        return int(self.labels.shape[1])

    @property
    def num_documents(self) -> int:
        return int(self.mask.sum())

    def to(self, device: torch.device | str, non_blocking: bool = False) -> RankingBatch:
        """The batch with its tensors on ``device``."""
        return RankingBatch(
            features=self.features.to(device, non_blocking=non_blocking),
            labels=self.labels.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            qids=self.qids,
            query_index=self.query_index.to(device, non_blocking=non_blocking),
            teacher=None
            if self.teacher is None
            else self.teacher.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> RankingBatch:
        """Called by ``DataLoader(pin_memory=True)``."""
        return RankingBatch(
            features=self.features.pin_memory(),
            labels=self.labels.pin_memory(),
            mask=self.mask.pin_memory(),
            qids=self.qids,
            query_index=self.query_index.pin_memory(),
            teacher=None if self.teacher is None else self.teacher.pin_memory(),
        )


class QueryItem(NamedTuple):
    """One query of a :class:`RankingDataset`: views into the data set's arrays."""

    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.float32]
    qid: Any
    position: int
    teacher: npt.NDArray[np.float32] | None = None


class RankingDataset(Dataset[QueryItem]):
    """The queries of a :class:`RankingData`, one item per query (views, no copies).

    ``teacher``: optional scores, one per document of ``data`` in its order (a teacher
    model's, for distillation); each item then carries its query's slice.
    """

    def __init__(self, data: RankingData, teacher: npt.ArrayLike | None = None) -> None:
        self.data = data
        self.teacher: npt.NDArray[np.float32] | None = None
        if teacher is not None:
            t = np.asarray(teacher, dtype=np.float32).reshape(-1)
            if t.shape != (data.num_documents,):
                raise ValueError(f"teacher scores: got {t.size} for {data.num_documents} documents")
            if not np.isfinite(t).all():
                raise ValueError("teacher scores contain NaN or inf")
            self.teacher = t

    def __len__(self) -> int:
        return self.data.num_queries

    def __getitem__(self, index: int) -> QueryItem:
        features, labels = self.data.query(index)
        teacher = None
        if self.teacher is not None:
            lo, hi = self.data.query_offsets[index], self.data.query_offsets[index + 1]
            teacher = self.teacher[lo:hi]
        return QueryItem(features, labels, self.data.qids[index], int(index), teacher)

    def list_lengths(self) -> npt.NDArray[np.int64]:
        """[Q] documents per query."""
        return self.data.list_lengths()


@dataclass
class SamplingStats:
    """Counts kept by :class:`RankingCollator` about what list sampling did."""

    lists: int = 0
    sampled_lists: int = 0
    dropped_documents: int = 0
    relevant_kept: int = 0  # lists where a relevant item was swapped in by keep_relevant

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return dict(self.__dict__)


@dataclass
class RankingCollator:
    """Pads queries into a :class:`RankingBatch`, optionally sampling long lists down.

    Args:
        slate_length: pad every batch to exactly this length; ``None`` pads to the
            batch's longest list. A list longer than ``slate_length`` is an error unless
            ``max_list_length`` (<= ``slate_length``) samples it down.
        max_list_length: training-time sampling: a longer list is replaced by a uniformly
            random subset of this many documents (kept in their original order).
            Evaluation loaders should leave it ``None`` so that every document counts.
        keep_relevant: when sampling, if the list has a relevant item (label > 0) but the
            sample has none, one random relevant item replaces a random sampled one.
        generator: the ``torch.Generator`` that drives sampling (seed it for
            reproducible runs); ``None`` uses a generator seeded with 0, never global state.
        pad_to_multiple_of: round the padded length up (e.g. 8 for tensor cores).
    """

    slate_length: int | None = None
    max_list_length: int | None = None
    keep_relevant: bool = True
    generator: torch.Generator | None = None
    pad_to_multiple_of: int | None = None
    stats: SamplingStats = field(default_factory=SamplingStats)

    def __post_init__(self) -> None:
        for name in ("slate_length", "max_list_length", "pad_to_multiple_of"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if (
            self.slate_length is not None
            and self.max_list_length is not None
            and self.max_list_length > self.slate_length
        ):
            raise ValueError(
                f"max_list_length ({self.max_list_length}) cannot exceed slate_length "
                f"({self.slate_length})"
            )
        if self.generator is None:
            self.generator = torch.Generator().manual_seed(0)

    def __call__(self, items: Sequence[QueryItem]) -> RankingBatch:
        chosen = [self._sample(item) for item in items]
        longest = max((rows.size for rows in chosen), default=0)
        length = self.slate_length if self.slate_length is not None else max(longest, 1)
        if longest > length:
            too_long = next(item for item, r in zip(items, chosen, strict=True) if r.size > length)
            raise ValueError(
                f"query {too_long.qid!r} has {too_long.labels.size} documents, more than "
                f"slate_length={length}; set max_list_length to sample long lists down"
            )
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            length = -(-length // m) * m
        width = items[0].features.shape[1] if items else 0
        batch = len(items)
        features = torch.zeros((batch, length, width), dtype=torch.float32)
        labels = torch.zeros((batch, length), dtype=torch.float32)
        mask = torch.zeros((batch, length), dtype=torch.bool)
        with_teacher = bool(items) and items[0].teacher is not None
        teacher = torch.zeros((batch, length), dtype=torch.float32) if with_teacher else None
        f_np, y_np, m_np = features.numpy(), labels.numpy(), mask.numpy()
        t_np = teacher.numpy() if teacher is not None else None
        for b, (item, rows) in enumerate(zip(items, chosen, strict=True)):
            k = rows.size
            whole = k == item.labels.size
            f_np[b, :k] = item.features if whole else item.features[rows]
            y_np[b, :k] = item.labels if whole else item.labels[rows]
            if t_np is not None:
                assert item.teacher is not None
                t_np[b, :k] = item.teacher if whole else item.teacher[rows]
            m_np[b, :k] = True
        qids = np.array([item.qid for item in items])
        index = torch.tensor([item.position for item in items], dtype=torch.int64)
        return RankingBatch(features, labels, mask, qids, index, teacher)

    def _sample(self, item: QueryItem) -> npt.NDArray[np.int64]:
        n = item.labels.size
        self.stats.lists += 1
        limit = self.max_list_length
        if limit is None or n <= limit:
            return np.arange(n)
        perm = torch.randperm(n, generator=self.generator).numpy()
        rows = perm[:limit]
        if self.keep_relevant:
            relevant = item.labels > 0
            if relevant.any() and not relevant[rows].any():
                candidates = perm[limit:][relevant[perm[limit:]]]
                pick = int(torch.randint(candidates.size, (1,), generator=self.generator))
                slot = int(torch.randint(limit, (1,), generator=self.generator))
                rows = rows.copy()
                rows[slot] = candidates[pick]
                self.stats.relevant_kept += 1
        self.stats.sampled_lists += 1
        self.stats.dropped_documents += n - limit
        return np.sort(rows)


def make_loader(
    data: RankingData,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    group_by_length: bool = True,
    slate_length: int | None = None,
    max_list_length: int | None = None,
    keep_relevant: bool = True,
    num_workers: int = 0,
    pin_memory: bool = False,
    teacher: npt.ArrayLike | None = None,
) -> DataLoader[QueryItem]:
    """A ``DataLoader`` of :class:`RankingBatch` over the queries of ``data``.

    Training: ``shuffle=True``, a seeded ``generator``, maybe ``max_list_length``.
    Evaluation: the defaults (no shuffling, no sampling: every document counts).
    The same ``generator`` drives batch order and list sampling, so a seed fixes both.
    With ``num_workers > 0`` each worker samples from a copy of the generator; keep the
    default 0 when list sampling must be reproducible across worker counts. ``teacher``
    (one score per document) gives every batch its ``teacher`` scores.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    dataset = RankingDataset(data, teacher)
    collate = RankingCollator(
        slate_length=slate_length,
        max_list_length=max_list_length,
        keep_relevant=keep_relevant,
        generator=gen,
    )
    if group_by_length:
        sampler = LengthGroupedBatchSampler(
            data.list_lengths(), batch_size, shuffle=shuffle, generator=gen
        )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=num_workers,
            pin_memory=pin_memory,
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=gen,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
