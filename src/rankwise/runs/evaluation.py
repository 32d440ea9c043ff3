"""Evaluating a TREC run against qrels, with trec_eval's conventions where they matter.

- the documents of each query are laid out in trec_eval's order
  (:func:`~rankwise.runs.trec.trec_eval_layout`), so ``ties="stable"`` reproduces
  trec_eval exactly; rankwise's default ``ties="average"`` gives the expected value over
  tie orders instead;
- documents the qrels do not judge are non-relevant; negative judgements count as 0;
- recall, MAP, R-precision and NDCG's ideal ranking use *every* judged document of a
  query, including those the run did not retrieve;
- only queries present in both run and qrels are evaluated, unless
  ``missing="zero"`` (trec_eval ``-c``): qrels queries missing from the run then count
  with value 0 for every metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rankwise.metrics.evaluation import Evaluation, pad_rows
from rankwise.metrics.spec import MetricSpec, evaluate, parse_metrics
from rankwise.runs.trec import Qrels, TrecRun, trec_eval_layout


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
            order = trec_eval_layout(np.asarray(docs))
            score_rows.append(scores[order])
            label_rows.append(np.array([max(judged.get(docs[i], 0.0), 0.0) for i in order]))
            ideal_rows.append(np.clip(np.array(list(judged.values()), dtype=np.float64), 0, None))
        s, m = pad_rows(score_rows)
        y, _ = pad_rows(label_rows)
        ideal, ideal_mask = pad_rows(ideal_rows)
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
