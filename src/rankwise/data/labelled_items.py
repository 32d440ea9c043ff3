"""Items with class labels, for embedding models trained with metric-learning losses.

:class:`LabelledItems` holds ``features`` [N, ...] and integer class ``labels`` [N];
:func:`class_balanced_loader` yields :class:`ItemBatch` objects drawn by a
:class:`~rankwise.data.samplers.ClassBalancedBatchSampler`, optionally augmented batch by
batch, and :meth:`LabelledItems.batches` walks the items in order for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from rankwise.data.samplers import ClassBalancedBatchSampler

Augment = Callable[[Tensor, torch.Generator], Tensor]


@dataclass
class ItemBatch:
    """A batch of items: ``features`` [N, ...] and class ``labels`` [N]."""

    features: Tensor
    labels: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_documents(self) -> int:
        return self.batch_size

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ItemBatch:
        return ItemBatch(
            self.features.to(device, non_blocking=non_blocking),
            self.labels.to(device, non_blocking=non_blocking),
        )


@dataclass
class LabelledItems:
    """``features`` [N, ...] with integer class ids ``labels`` [N]."""

    features: Tensor
    labels: Tensor

    def __post_init__(self) -> None:
        if self.labels.dim() != 1 or self.labels.shape[0] != self.features.shape[0]:
            raise ValueError(
                f"LabelledItems: labels must be [N] with N = {self.features.shape[0]} "
                f"(the number of feature rows), got {tuple(self.labels.shape)}"
            )
        if self.labels.is_floating_point():
            raise ValueError(
                f"LabelledItems: labels must be integer class ids, got {self.labels.dtype}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batches(self, batch_size: int = 1024) -> Iterator[ItemBatch]:
        """The items in order, ``batch_size`` at a time (evaluation)."""
        for start in range(0, len(self), batch_size):
            rows = slice(start, start + batch_size)
            yield ItemBatch(self.features[rows], self.labels[rows])


class ClassBalancedLoader:
    """Iterable over one epoch of class-balanced :class:`ItemBatch` objects."""

    def __init__(
        self, items: LabelledItems, sampler: ClassBalancedBatchSampler, augment: Augment | None
    ) -> None:
        self.items = items
        self.batch_sampler = sampler  # the trainer finds the generator here
        self.augment = augment

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[ItemBatch]:
        generator = self.batch_sampler.generator
        for indices in self.batch_sampler:
            idx = torch.tensor(indices, dtype=torch.long)
            features = self.items.features[idx]
            if self.augment is not None:
                features = self.augment(features, generator)
            yield ItemBatch(features, self.items.labels[idx])


def class_balanced_loader(
    items: LabelledItems,
    *,
    classes_per_batch: int = 5,
    per_class: int = 16,
    generator: torch.Generator | None = None,
    augment: Augment | None = None,
) -> ClassBalancedLoader:
    """Training batches of ``classes_per_batch`` classes x ``per_class`` items
    (:class:`~rankwise.data.samplers.ClassBalancedBatchSampler`); ``augment(features,
    generator) -> features`` is applied to every batch with the sampler's generator."""
    sampler = ClassBalancedBatchSampler(items.labels, classes_per_batch, per_class, generator)
    return ClassBalancedLoader(items, sampler, augment)
