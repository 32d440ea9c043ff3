"""Evaluating runs: a TREC run against qrels, or scores of a ranking data set.

:func:`evaluate_run` follows trec_eval's conventions where they matter:

- the documents of each query are put in trec_eval's order before ranking — score
  descending, then docid descending — so ``ties="stable"`` reproduces trec_eval exactly;
  rankwise's default ``ties="average"`` gives the expected value over tie orders instead;
- documents the qrels do not judge are non-relevant; negative judgements count as 0;
- recall, MAP, R-precision and NDCG's ideal ranking use *every* judged document of a
  query, including those the run did not retrieve;
- only queries present in both run and qrels are evaluated, unless
  ``missing="zero"`` (trec_eval ``-c``): qrels queries missing from the run then count
  with value 0 for every metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from rankwise.data.ranking_data import RankingData
from rankwise.data.trec import Qrels, TrecRun
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
        return {s.key: s.describe() for s in self.specs}

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.means(),
            "conventions": self.conventions(),
            "queries": len(self.qids),
            "lists_without_relevant": self.lists_without_relevant,
            "notes": list(self.notes),
        }


def _pad(rows: Sequence[npt.NDArray[np.float64]]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max((r.size for r in rows), default=0)
    length = max(length, 1)
    values = torch.zeros(len(rows), length, dtype=torch.float64)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, r in enumerate(rows):
        values[i, : r.size] = torch.from_numpy(np.asarray(r, dtype=np.float64))
        mask[i, : r.size] = True
    return values, mask


def evaluate_run(
    run: TrecRun,
    qrels: Qrels,
    metrics: Sequence[str | MetricSpec],
    *,
    defaults: Mapping[str, Any] | None = None,
    missing: Literal["ignore", "zero"] = "ignore",
    batch_size: int = 1024,
) -> Evaluation:
    """Evaluate ``run`` against ``qrels`` (see the module docstring for conventions)."""
    if missing not in ("ignore", "zero"):
        raise ValueError(f"missing must be 'ignore' or 'zero', got {missing!r}")
    specs = parse_metrics(metrics, defaults)
    by_query = run.by_query()
    evaluated = [q for q in by_query if q in qrels]
    notes = []
    unjudged = [q for q in by_query if q not in qrels]
    if unjudged:
        notes.append(f"{len(unjudged)} run queries have no judgements and were not evaluated")
    absent = [q for q in qrels if q not in by_query]
    if absent:
        verb = "count as 0" if missing == "zero" else "were not evaluated"
        notes.append(f"{len(absent)} judged queries are missing from the run and {verb}")
    per_query: dict[str, list[npt.NDArray[np.float64]]] = {s.key: [] for s in specs}
    without_relevant = 0
    for lo in range(0, len(evaluated), batch_size):
        chunk = evaluated[lo : lo + batch_size]
        score_rows, label_rows, ideal_rows = [], [], []
        for q in chunk:
            docs, scores = by_query[q]
            judged = qrels[q]
            # trec_eval order: score descending, then docid descending.
            order = sorted(range(len(docs)), key=lambda i: (scores[i], docs[i]), reverse=True)
            score_rows.append(scores[order])
            label_rows.append(np.array([max(judged.get(docs[i], 0.0), 0.0) for i in order]))
            ideal_rows.append(np.clip(np.array(list(judged.values()), dtype=np.float64), 0, None))
        s, m = _pad(score_rows)
        y, _ = _pad(label_rows)
        ideal, ideal_mask = _pad(ideal_rows)
        without_relevant += int(sum(1 for r in ideal_rows if not (r > 0).any()))
        values = evaluate(
            s, y, specs, mask=m, reduction="none", ideal_labels=ideal, ideal_mask=ideal_mask
        )
        for key, v in values.items():
            per_query[key].append(v.numpy())
    qids = list(evaluated)
    if missing == "zero" and absent:
        for key in per_query:
            per_query[key].append(np.zeros(len(absent)))
        qids += absent
    return Evaluation(
        specs=specs,
        qids=qids,
        per_query={k: np.concatenate(v) if v else np.zeros(0) for k, v in per_query.items()},
        lists_without_relevant=without_relevant,
        notes=notes,
    )


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
        sc, m = _pad([s[offsets[q] : offsets[q + 1]] for q in rows])
        y, _ = _pad([data.labels[offsets[q] : offsets[q + 1]].astype(np.float64) for q in rows])
        for key, v in evaluate(sc, y, specs, mask=m, reduction="none").items():
            per_query[key].append(v.numpy())
    return Evaluation(
        specs=specs,
        qids=[str(q) for q in data.qids.tolist()],
        per_query={k: np.concatenate(v) if v else np.zeros(0) for k, v in per_query.items()},
        lists_without_relevant=int((~data.has_relevant()).sum()),
    )
