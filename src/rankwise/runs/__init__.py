"""TREC runs and qrels: reading and writing, evaluation with trec_eval's conventions, and
fusion of several runs into one.

- :mod:`~rankwise.runs.trec`: :class:`TrecRun`, :data:`Qrels`, their files, runs from a
  model's scores, and trec_eval's document order (:func:`trec_eval_layout`, the one place
  it is written);
- :mod:`~rankwise.runs.evaluation`: :func:`evaluate_run` (``rankwise evaluate``);
- :mod:`~rankwise.runs.fusion`: :func:`fuse_runs` and weight tuning on a validation run
  (``rankwise fuse``), on the score fusion of :mod:`rankwise.aggregate.score_fusion`.
"""

from rankwise.runs.evaluation import evaluate_run
from rankwise.runs.fusion import (
    StackedRuns,
    TunedWeights,
    fuse_runs,
    stack_runs,
    tune_run_weights,
    tune_weights,
    weight_grid,
)
from rankwise.runs.trec import (
    Qrels,
    TrecRun,
    qrels_from_data,
    read_qrels,
    read_trec_run,
    run_from_scores,
    trec_eval_layout,
    trec_eval_order,
    write_qrels,
    write_trec_run,
)

__all__ = [
    "Qrels",
    "StackedRuns",
    "TrecRun",
    "TunedWeights",
    "evaluate_run",
    "fuse_runs",
    "qrels_from_data",
    "read_qrels",
    "read_trec_run",
    "run_from_scores",
    "stack_runs",
    "trec_eval_layout",
    "trec_eval_order",
    "tune_run_weights",
    "tune_weights",
    "weight_grid",
    "write_qrels",
    "write_trec_run",
]
