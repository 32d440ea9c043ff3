"""Implicit-feedback interactions (user, item) and their training batches.

:class:`Interactions` holds train and test pairs with 0-based ids;
:func:`interaction_loader` yields, per epoch, the training pairs in a random order, each
with ``negatives`` items drawn uniformly at random (the positive first in
``InteractionBatch.items``), for the sampled-negative losses of
:mod:`rankwise.losses` (``RECOMMENDATION_LOSSES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Interactions:
    """Train and test (user, item) pairs with 0-based ids."""

    num_users: int
    num_items: int
    train: Tensor  # [T, 2] long
    test: Tensor  # [S, 2] long

    def user_slice(self, num_users: int) -> Interactions:
        """The interactions of the first ``num_users`` users (item ids kept)."""
        keep_train = self.train[:, 0] < num_users
        keep_test = self.test[:, 0] < num_users
        return Interactions(num_users, self.num_items, self.train[keep_train], self.test[keep_test])


@dataclass
class InteractionBatch:
    """``users`` [B] and ``items`` [B, 1 + n]: each user's observed item, then n negatives."""

    users: Tensor
    items: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.users.shape[0])

    @property
    def num_documents(self) -> int:
        return int(self.items.numel())

    def to(self, device: torch.device | str, non_blocking: bool = False) -> InteractionBatch:
        return InteractionBatch(
            self.users.to(device, non_blocking=non_blocking),
            self.items.to(device, non_blocking=non_blocking),
        )


class InteractionLoader:
    """Iterable over one epoch of :class:`InteractionBatch` objects (see the module
    docstring); ``generator`` drives both the order and the negatives."""

    def __init__(
        self, data: Interactions, batch_size: int, negatives: int, generator: torch.Generator
    ) -> None:
        if batch_size < 1 or negatives < 1:
            raise ValueError(
                f"interaction_loader: batch_size and negatives must be >= 1, got {batch_size} "
                f"and {negatives}"
            )
        self.data = data
        self.batch_size = batch_size
        self.negatives = negatives
        self.generator = generator

    def __len__(self) -> int:
        return -(-int(self.data.train.shape[0]) // self.batch_size)

    def __iter__(self) -> Iterator[InteractionBatch]:
        pairs = self.data.train
        order = torch.randperm(pairs.shape[0], generator=self.generator)
        for start in range(0, pairs.shape[0], self.batch_size):
            batch = pairs[order[start : start + self.batch_size]]
            shape = (batch.shape[0], self.negatives)
            negatives = torch.randint(self.data.num_items, shape, generator=self.generator)
            yield InteractionBatch(batch[:, 0], torch.cat([batch[:, 1:2], negatives], dim=1))


def interaction_loader(
    data: Interactions,
    *,
    batch_size: int = 1024,
    negatives: int = 64,
    generator: torch.Generator | None = None,
) -> InteractionLoader:
    """Training batches of ``data.train`` with ``negatives`` uniform negatives per pair
    (uniform sampling: the sampled softmax's log-Q correction is a constant)."""
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    return InteractionLoader(data, batch_size, negatives, gen)
