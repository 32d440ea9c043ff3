"""A small training loop for embedders with class-balanced batches (metric learning).

Metric-learning losses need positive pairs in every batch, so batches are drawn as P
classes x M items per class ("PK sampling", Hermans et al. 2017) rather than uniformly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def class_balanced_batches(
    labels: Tensor, classes_per_batch: int, per_class: int, generator: torch.Generator
) -> list[Tensor]:
    """One epoch of index batches, each with ``classes_per_batch`` classes x ``per_class``
    items (classes with fewer items are drawn with replacement). Every item appears about
    once per epoch."""
    classes = torch.unique(labels)
    if classes.numel() < 2:
        raise ValueError("class_balanced_batches: needs at least 2 classes")
    by_class = [torch.nonzero(labels == c, as_tuple=True)[0] for c in classes]
    n_batches = max(1, labels.numel() // (classes_per_batch * per_class))
    batches = []
    for _ in range(n_batches):
        chosen = torch.randperm(classes.numel(), generator=generator)[:classes_per_batch]
        parts = []
        for c in chosen.tolist():
            members = by_class[c]
            replace = members.numel() < per_class
            if replace:
                pick = torch.randint(members.numel(), (per_class,), generator=generator)
            else:
                pick = torch.randperm(members.numel(), generator=generator)[:per_class]
            parts.append(members[pick])
        batches.append(torch.cat(parts))
    return batches


def train_embedder(
    model: nn.Module,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    features: Tensor,
    labels: Tensor,
    *,
    epochs: int = 30,
    lr: float = 1e-3,
    classes_per_batch: int = 5,
    per_class: int = 16,
    seed: int = 0,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
) -> list[float]:
    """Train ``model`` (features [N, F] -> embeddings [N, D]) with ``loss_fn(emb, labels)``
    by Adam on class-balanced batches; returns the mean loss of each epoch. ``augment``
    (batch features, generator) -> features is applied to every training batch."""
    generator = torch.Generator().manual_seed(seed)
    params = list(model.parameters()) + (
        list(loss_fn.parameters()) if isinstance(loss_fn, nn.Module) else []
    )
    optimizer = torch.optim.Adam(params, lr=lr)
    history = []
    model.train()
    for _ in range(epochs):
        total, count = 0.0, 0
        for idx in class_balanced_batches(labels, classes_per_batch, per_class, generator):
            batch = features[idx] if augment is None else augment(features[idx], generator)
            loss = loss_fn(model(batch), labels[idx])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total, count = total + float(loss.detach()), count + 1
        history.append(total / max(count, 1))
    model.eval()
    return history
