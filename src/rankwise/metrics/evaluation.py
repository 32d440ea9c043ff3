"""Per-query evaluation results, and evaluation of scores of a ranking data set.

:class:`Evaluation` holds per-query values of several metrics (what ``rankwise
evaluate``, ``train`` and ``compare`` read and write); :func:`evaluate_scores` evaluates
one score per document of a :class:`~rankwise.data.RankingData` (a model's predictions).
TREC runs are evaluated by :func:`rankwise.runs.evaluate_run`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from rankwise.data.ranking_data import RankingData
from rankwise.metrics.spec import MetricSpec, evaluate, parse_metrics


@dataclass
class Evaluation:
    """Per-query values of several metrics, in query order, plus bookkeeping."""

    specs: list[MetricSpec]
    qids: list[str]
    per_query: dict[str, npt.NDArray[np.float64]]
    lists_without_relevant: int = 0
    notes: list[str] = field(default_factory=list)

    def means(self) -> dict[str, float]:
        """Mean per metric over the queries that count (NaN = skipped, left out)."""
        out = {}
        for key, values in self.per_query.items():
            finite = values[~np.isnan(values)]
            out[key] = float(finite.mean()) if finite.size else 0.0
        return out

    def conventions(self) -> dict[str, str]:
        """``key -> describe()`` of every metric."""
        return {s.key: s.describe() for s in self.specs}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: means, conventions, counts, notes."""
        return {
            "metrics": self.means(),
            "conventions": self.conventions(),
            "queries": len(self.qids),
            "lists_without_relevant": self.lists_without_relevant,
            "notes": list(self.notes),
        }


def pad_rows(rows: Sequence[npt.NDArray[np.float64]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of different lengths as ``(values [N, L], mask [N, L])``, zero-padded (float64)."""
    length = max((r.size for r in rows), default=0)
    length = max(length, 1)
    values = torch.zeros(len(rows), length, dtype=torch.float64)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, r in enumerate(rows):
        values[i, : r.size] = torch.from_numpy(np.asarray(r, dtype=np.float64))
        mask[i, : r.size] = True
    return values, mask


def evaluate_scores(
    data: RankingData,
    scores: npt.ArrayLike,
    metrics: Sequence[str | MetricSpec],
    *,
    defaults: Mapping[str, Any] | None = None,
    batch_size: int = 1024,
) -> Evaluation:
    """Evaluate one score per document of ``data`` (e.g. a model's predictions)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size != data.num_documents:
        raise ValueError(f"got {s.size} scores for {data.num_documents} documents")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    specs = parse_metrics(metrics, defaults)
    per_query: dict[str, list[npt.NDArray[np.float64]]] = {sp.key: [] for sp in specs}
    offsets = data.query_offsets
    for lo in range(0, data.num_queries, batch_size):
        hi = min(lo + batch_size, data.num_queries)
        rows = range(lo, hi)
        sc, m = pad_rows([s[offsets[q] : offsets[q + 1]] for q in rows])
        y, _ = pad_rows([data.labels[offsets[q] : offsets[q + 1]].astype(np.float64) for q in rows])
        for key, v in evaluate(sc, y, specs, mask=m, reduction="none").items():
            per_query[key].append(v.numpy())
    return Evaluation(
        specs=specs,
        qids=[str(q) for q in data.qids.tolist()],
        per_query={k: np.concatenate(v) if v else np.zeros(0) for k, v in per_query.items()},
        lists_without_relevant=int((~data.has_relevant()).sum()),
    )


def write_per_query(path: str | Path, evaluations: Mapping[str, Evaluation]) -> None:
    """A tab-separated file ``system, qid, metric, value``: one row per system, query and
    metric (``rankwise evaluate --per-query``)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["system", "qid", "metric", "value"])
        for name, e in evaluations.items():
            for metric, values in e.per_query.items():
                for q, v in zip(e.qids, values.tolist(), strict=True):
                    writer.writerow([name, q, metric, repr(v)])
