"""Ranking metrics with explicit conventions, evaluation of runs, and comparisons.

- Rank-based metrics on [B, L] batches (:mod:`rankwise.functional.metrics`): ``dcg``,
  ``ndcg``, ``precision``, ``recall``, ``average_precision``, ``reciprocal_rank``, ``err``,
  ``hits``, ``r_precision``, ``auc``, ``pair_accuracy``, ``preference_accuracy``.
- Metric strings (``"ndcg@10"``) and :func:`evaluate` for several at once; the
  :class:`MetricAccumulator` for per-query values over batches.
- Calibration (:func:`log_loss`, :func:`brier_score`, :func:`expected_calibration_error`),
  fairness (:func:`rnd`, :func:`rkl`, :func:`rrd`, :func:`exposure_disparity`).
- Runs: :func:`evaluate_run` (TREC run vs qrels), :func:`evaluate_scores`; comparisons
  with paired tests, corrections and bootstrap intervals (:func:`compare`).
"""

from rankwise.functional.metrics import (
    auc,
    average_precision,
    dcg,
    err,
    hits,
    ndcg,
    pair_accuracy,
    precision,
    preference_accuracy,
    r_precision,
    recall,
    reciprocal_rank,
)
from rankwise.metrics.accumulator import MetricAccumulator
from rankwise.metrics.calibration import brier_score, expected_calibration_error, log_loss
from rankwise.metrics.compare import Comparison, compare, render_comparison
from rankwise.metrics.fairness import exposure_disparity, rkl, rnd, rrd
from rankwise.metrics.runs import Evaluation, evaluate_run, evaluate_scores
from rankwise.metrics.significance import (
    adjust_p_values,
    bootstrap_ci,
    paired_t_test,
    randomization_test,
    significance_test,
    wilcoxon_test,
)
from rankwise.metrics.spec import METRICS, MetricSpec, evaluate, parse_metric, parse_metrics

__all__ = [
    "METRICS",
    "Comparison",
    "Evaluation",
    "MetricAccumulator",
    "MetricSpec",
    "adjust_p_values",
    "auc",
    "average_precision",
    "bootstrap_ci",
    "brier_score",
    "compare",
    "dcg",
    "err",
    "evaluate",
    "evaluate_run",
    "evaluate_scores",
    "expected_calibration_error",
    "exposure_disparity",
    "hits",
    "log_loss",
    "ndcg",
    "pair_accuracy",
    "paired_t_test",
    "parse_metric",
    "parse_metrics",
    "precision",
    "preference_accuracy",
    "r_precision",
    "randomization_test",
    "recall",
    "reciprocal_rank",
    "render_comparison",
    "rkl",
    "rnd",
    "rrd",
    "significance_test",
    "wilcoxon_test",
]
