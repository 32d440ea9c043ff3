"""Batch samplers: which items go into each training batch.

- :class:`LengthGroupedBatchSampler`: batches of queries with similar list lengths (less
  padding), shuffled by a generator;
- :class:`DistributedLengthGroupedBatchSampler`: the same batches for data-parallel
  training, each process taking its share of whole queries;
- :class:`ClassBalancedBatchSampler`: batches of P classes x M items per class ("PK
  sampling", Hermans et al., "In Defense of the Triplet Loss for Person
  Re-Identification", 2017), so that every batch of a metric-learning loss holds positive
  pairs.

Both are seeded by a ``torch.Generator`` and yield lists of indices.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Batches of queries with similar list lengths.

    With ``shuffle=True`` the queries are shuffled (by ``generator``), cut into groups of
    ``batch_size * group_batches`` queries, each group is sorted by list length and cut
    into batches, and the order of all batches is shuffled again. Without shuffling the
    queries are sorted by length once (deterministic, for evaluation). Every query
    appears exactly once per epoch; the last batch of a group may be smaller unless
    ``drop_last``.
    """

    def __init__(
        self,
        lengths: npt.ArrayLike,
        batch_size: int,
        *,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
        group_batches: int = 50,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if group_batches < 1:
            raise ValueError(f"group_batches must be >= 1, got {group_batches}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.group_batches = group_batches
        self.drop_last = drop_last

    def _batches(self) -> list[list[int]]:
        n = self.lengths.size
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).numpy()
            group = self.batch_size * self.group_batches
        else:
            order = np.arange(n)
            group = max(n, 1)
        batches: list[list[int]] = []
        for start in range(0, n, group):
            members = order[start : start + group]
            members = members[np.argsort(-self.lengths[members], kind="stable")]
            for b in range(0, members.size, self.batch_size):
                chunk = members[b : b + self.batch_size]
                if self.drop_last and chunk.size < self.batch_size:
                    continue
                batches.append(chunk.tolist())
        if self.shuffle and batches:
            perm = torch.randperm(len(batches), generator=self.generator).tolist()
            batches = [batches[i] for i in perm]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        if not self.drop_last:
            if self.shuffle:
                group = self.batch_size * self.group_batches
                full, rest = divmod(self.lengths.size, group)
                per_group = -(-group // self.batch_size)
                return full * per_group + -(-rest // self.batch_size)
            return -(-self.lengths.size // self.batch_size)
        return len(self._batches())


class DistributedLengthGroupedBatchSampler(Sampler[list[int]]):
    """This process's share of length-grouped global batches (data-parallel training).

    Every process draws the same global batches — a :class:`LengthGroupedBatchSampler`
    with ``batch_size * num_replicas`` queries per batch, seeded by ``seed + epoch``
    (:meth:`set_epoch`) — and takes the ``rank``-th of ``num_replicas`` contiguous,
    nearly equal parts (sizes differ by at most one), so a list is never split across
    processes and one global batch is the batch one process with ``batch_size *
    num_replicas`` would have trained on.

    Remainder policy: a global batch with fewer queries than processes (only the last
    batch of a length group can be that small) is dropped for the epoch on every
    process; ``dropped_queries`` counts its queries. Shorter global batches that
    can be shared are shared, unevenly by at most one query.

    Example:
        >>> lengths = [5, 3, 8, 2, 7, 4, 6]
        >>> ranks = [DistributedLengthGroupedBatchSampler(lengths, 2, 2, r, seed=0)
        ...          for r in range(2)]
        >>> shares = [list(r) for r in ranks]
        >>> sorted(i for share in shares for batch in share for i in batch)
        [0, 1, 2, 3, 4, 5, 6]
        >>> [len(batch) for batch in shares[0]], [len(batch) for batch in shares[1]]
        ([2, 2], [1, 2])
    """

    def __init__(
        self,
        lengths: npt.ArrayLike,
        batch_size: int,
        num_replicas: int,
        rank: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        group_batches: int = 50,
    ) -> None:
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(
                f"rank must be in [0, num_replicas), got rank {rank} of {num_replicas}"
            )
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.group_batches = group_batches
        self.epoch = 0
        self.dropped_queries = 0
        self.generator = torch.Generator().manual_seed(seed)

    def set_epoch(self, epoch: int) -> None:
        """Reseed for ``epoch`` (0-based): every process, and a resumed run, draws the
        same batches for the same epoch."""
        self.epoch = epoch

    def _shares(self) -> list[list[int]]:
        self.generator.manual_seed(self.seed + self.epoch)
        inner = LengthGroupedBatchSampler(
            self.lengths,
            self.batch_size * self.num_replicas,
            shuffle=self.shuffle,
            generator=self.generator,
            group_batches=self.group_batches,
        )
        shares, dropped = [], 0
        for batch in inner:
            if len(batch) < self.num_replicas:
                dropped += len(batch)
                continue
            part = np.array_split(np.asarray(batch, dtype=np.int64), self.num_replicas)
            shares.append(part[self.rank].tolist())
        self.dropped_queries = dropped
        return shares

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._shares())

    def __len__(self) -> int:
        return len(self._shares())


class ClassBalancedBatchSampler(Sampler[list[int]]):
    """One epoch of index batches, each with ``classes_per_batch`` classes x ``per_class``
    items of each (a class with fewer items is drawn with replacement).

    ``len(labels) // (classes_per_batch * per_class)`` batches per epoch (at least one),
    so every item appears about once per epoch. All of an epoch's batches are drawn when
    the epoch starts.

    Example:
        >>> labels = torch.tensor([0, 0, 1, 1, 2, 2])
        >>> sampler = ClassBalancedBatchSampler(labels, 2, 2, torch.Generator().manual_seed(0))
        >>> [len(batch) for batch in sampler]
        [4]
    """

    def __init__(
        self,
        labels: torch.Tensor,
        classes_per_batch: int,
        per_class: int,
        generator: torch.Generator | None = None,
    ) -> None:
        classes = torch.unique(labels)
        if classes.numel() < 2:
            raise ValueError("ClassBalancedBatchSampler: needs at least 2 classes")
        if classes_per_batch < 1 or per_class < 1:
            raise ValueError(
                "ClassBalancedBatchSampler: classes_per_batch and per_class must be >= 1, got "
                f"{classes_per_batch} and {per_class}"
            )
        self.by_class = [torch.nonzero(labels == c, as_tuple=True)[0] for c in classes]
        self.classes_per_batch = classes_per_batch
        self.per_class = per_class
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.num_batches = max(1, labels.numel() // (classes_per_batch * per_class))

    def _batches(self) -> list[list[int]]:
        batches = []
        n_classes = len(self.by_class)
        for _ in range(self.num_batches):
            chosen = torch.randperm(n_classes, generator=self.generator)[: self.classes_per_batch]
            parts = []
            for c in chosen.tolist():
                members = self.by_class[c]
                if members.numel() < self.per_class:
                    pick = torch.randint(
                        members.numel(), (self.per_class,), generator=self.generator
                    )
                else:
                    pick = torch.randperm(members.numel(), generator=self.generator)[
                        : self.per_class
                    ]
                parts.append(members[pick])
            batches.append(torch.cat(parts).tolist())
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return self.num_batches
