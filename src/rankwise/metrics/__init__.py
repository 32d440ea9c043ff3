"""Evaluation with explicit conventions: metric strings, accumulation over batches,
significance tests, and the evaluation of data sets, embeddings and recommendations.

The metric functions themselves (``ndcg``, ``average_precision``, ...) are pure tensor
functions in :mod:`rankwise.functional`. Here:

- metric strings (``"ndcg@10[gain=linear]"``): :func:`parse_metric`, :class:`MetricSpec`,
  the :data:`METRICS` registry, and :func:`~rankwise.metrics.spec.evaluate` for several
  metrics of one batch;
- :class:`MetricAccumulator`: per-query values over batches;
- significance: :func:`paired_t_test`, :func:`wilcoxon_test`, :func:`randomization_test`,
  :func:`bootstrap_ci`, :func:`adjust_p_values`, :func:`significance_test`;
- :class:`Evaluation` and :func:`evaluate_scores` (scores of a ranking data set; TREC runs
  are evaluated by :func:`rankwise.runs.evaluate_run`);
- :func:`retrieval_metrics` (embeddings, exact and blocked), :func:`effective_rank`,
  :func:`stable_rank`; :func:`full_ranking_metrics` (recommendation).
"""

from rankwise.metrics.accumulator import MetricAccumulator
from rankwise.metrics.evaluation import Evaluation, evaluate_scores
from rankwise.metrics.recommendation import full_ranking_metrics
from rankwise.metrics.retrieval import effective_rank, retrieval_metrics, stable_rank
from rankwise.metrics.significance import (
    adjust_p_values,
    bootstrap_ci,
    paired_t_test,
    randomization_test,
    significance_test,
    wilcoxon_test,
)
from rankwise.metrics.spec import (
    METRICS,
    MetricSpec,
    describe_metrics,
    evaluate,
    parse_metric,
    parse_metrics,
)

__all__ = [
    "METRICS",
    "Evaluation",
    "MetricAccumulator",
    "MetricSpec",
    "adjust_p_values",
    "bootstrap_ci",
    "describe_metrics",
    "effective_rank",
    "evaluate",
    "evaluate_scores",
    "full_ranking_metrics",
    "paired_t_test",
    "parse_metric",
    "parse_metrics",
    "randomization_test",
    "retrieval_metrics",
    "significance_test",
    "stable_rank",
    "wilcoxon_test",
]
