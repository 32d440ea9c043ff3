"""Ranking metrics with explicit conventions (see :mod:`rankwise.functional.metrics`)."""

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

__all__ = [
    "auc",
    "average_precision",
    "dcg",
    "err",
    "hits",
    "ndcg",
    "pair_accuracy",
    "precision",
    "preference_accuracy",
    "r_precision",
    "recall",
    "reciprocal_rank",
]
