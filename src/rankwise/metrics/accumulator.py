"""Accumulating metrics over batches, keeping one value per query."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from rankwise.metrics.spec import MetricSpec, evaluate, parse_metrics


class MetricAccumulator:
    """Collects per-query metric values batch by batch.

    Example:
        >>> acc = MetricAccumulator(["ndcg@10", "map"])
        >>> acc.update(torch.tensor([[2., 1.]]), torch.tensor([[0., 1.]]), qids=["q1"])
        >>> acc.update(torch.tensor([[1., 0.]]), torch.tensor([[0., 0.]]), qids=["q2"])
        >>> {k: round(v, 4) for k, v in acc.compute().items()}
        {'ndcg@10': 0.3155, 'map': 0.25}
        >>> acc.lists_without_relevant
        1

    Every query must be seen once: a qid that comes again is an error (it would be
    counted twice). Values of lists skipped by ``empty="skip"`` are NaN per query and
    left out of the means.
    """

    def __init__(
        self, metrics: Sequence[str | MetricSpec], defaults: Mapping[str, Any] | None = None
    ) -> None:
        self.specs = parse_metrics(metrics, defaults)
        self._values: dict[str, list[npt.NDArray[np.float64]]] = {s.key: [] for s in self.specs}
        self._qids: list[Any] = []
        self._seen: set[Any] = set()
        self._without_relevant = 0

    @property
    def keys(self) -> list[str]:
        """The metric keys, in the order given."""
        return [s.key for s in self.specs]

    def update(
        self,
        scores: Tensor,
        labels: Tensor,
        *,
        mask: Tensor | None = None,
        qids: Iterable[Any] | None = None,
    ) -> None:
        """Add a batch [B, L]; ``qids`` [B] name the lists (default: running numbers)."""
        batch = scores.shape[0] if scores.dim() == 2 else 1
        ids = (
            list(qids)
            if qids is not None
            else list(range(len(self._qids), len(self._qids) + batch))
        )
        if len(ids) != batch:
            raise ValueError(f"got {len(ids)} qids for a batch of {batch} lists")
        for q in ids:
            key = q.item() if hasattr(q, "item") else q
            if key in self._seen:
                raise ValueError(f"query {key!r} was already accumulated")
            self._seen.add(key)
        with torch.no_grad():
            values = evaluate(scores.detach(), labels, self.specs, mask=mask, reduction="none")
            real = mask if mask is not None else torch.ones_like(labels, dtype=torch.bool)
            positive = ((labels > 0) & real.to(labels.device)).any(dim=-1)
        self._without_relevant += int((~positive).sum())
        for key, v in values.items():
            self._values[key].append(v.detach().to(torch.float64).cpu().numpy().reshape(-1))
        self._qids.extend(q.item() if hasattr(q, "item") else q for q in ids)

    @property
    def num_queries(self) -> int:
        """Queries accumulated so far."""
        return len(self._qids)

    @property
    def lists_without_relevant(self) -> int:
        """Lists with no positive label (their values follow each metric's ``empty``)."""
        return self._without_relevant

    def qids(self) -> list[Any]:
        """Query ids in the order they were added."""
        return list(self._qids)

    def per_query(self) -> dict[str, npt.NDArray[np.float64]]:
        """``key -> [Q]`` values in the order queries were added (see :meth:`qids`)."""
        return {
            k: np.concatenate(v) if v else np.zeros(0, dtype=np.float64)
            for k, v in self._values.items()
        }

    def compute(self) -> dict[str, float]:
        """Mean of each metric over the queries that count (NaN-skipped ones left out).

        The sum is exactly rounded (``math.fsum``), so the mean does not depend on the
        order the queries came in: one process and several processes whose
        accumulators were :meth:`merge`-d give the same value to the last bit."""
        out = {}
        for key, values in self.per_query().items():
            finite = values[~np.isnan(values)]
            out[key] = math.fsum(finite.tolist()) / finite.size if finite.size else 0.0
        return out

    def merge(self, other: MetricAccumulator) -> None:
        """Add the queries of ``other`` (same metrics), e.g. another process's share of a
        validation set; a query both have seen is an error (it would count twice)."""
        if other.keys != self.keys:
            raise ValueError(f"cannot merge metrics {other.keys} into {self.keys}")
        twice = self._seen & other._seen
        if twice:
            raise ValueError(
                f"queries {sorted(map(str, twice))[:5]} were accumulated by both "
                "(a query must be counted once)"
            )
        for key in self.keys:
            self._values[key].extend(other._values[key])
        self._qids.extend(other._qids)
        self._seen |= other._seen
        self._without_relevant += other._without_relevant

    def reset(self) -> None:
        """Forget every accumulated query."""
        self.__init__(self.specs)  # type: ignore[misc]
