"""Descriptive statistics of a ranking data set (``rankwise data stats``)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from rankwise.data.ranking_data import RankingData

LENGTH_BUCKETS = (1, 2, 6, 11, 21, 51, 101, 201, 501, 1001)


def data_statistics(data: RankingData) -> dict[str, Any]:
    """Counts and distributions that matter before training a ranker.

    Returns a JSON-safe dict: sizes; list-length summary and histogram; label histogram;
    lists with no relevant item (all labels 0) and lists of length 1 (no pair to rank);
    constant features (1-based indices, constant over the whole data set); and the
    loader's report (values filled, queries regrouped, lines skipped).
    """
    lengths = data.list_lengths()
    stats: dict[str, Any] = {
        "queries": data.num_queries,
        "documents": data.num_documents,
        "features": data.num_features,
    }
    if data.num_queries:
        stats["list_length"] = {
            "min": int(lengths.min()),
            "median": float(np.median(lengths)),
            "mean": float(lengths.mean()),
            "max": int(lengths.max()),
        }
    edges = [*LENGTH_BUCKETS, np.iinfo(np.int64).max]
    histogram = {}
    for lo, hi in pairwise(edges):
        count = int(((lengths >= lo) & (lengths < hi)).sum())
        if count:
            label = f"{lo}" if hi == lo + 1 else (f"{lo}+" if hi == edges[-1] else f"{lo}-{hi - 1}")
            histogram[label] = count
    stats["list_length_histogram"] = histogram
    values, counts = np.unique(data.labels, return_counts=True)
    stats["label_histogram"] = {_label_key(v): int(c) for v, c in zip(values, counts, strict=True)}
    stats["lists_without_relevant"] = int((~data.has_relevant()).sum())
    stats["lists_of_length_one"] = int((lengths == 1).sum())
    if data.num_documents:
        f = np.asarray(data.features)
        constant = np.flatnonzero(f.max(axis=0) == f.min(axis=0))
    else:
        constant = np.zeros(0, dtype=np.int64)
    stats["constant_features"] = [int(j) + 1 for j in constant]
    stats["has_docids"] = data.docids is not None
    if data.report is not None:
        stats["load"] = data.report.to_dict()
        stats["notes"] = data.report.notes()
    return stats


def _label_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
