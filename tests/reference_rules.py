"""Reference conventions written out by hand, shared by the parity tests (never by the
library): what a reference computes where rankwise follows another convention."""

from __future__ import annotations

import itertools
import math

import numpy as np


def tied(scores: np.ndarray) -> bool:
    """Whether two real items share a score."""
    return len(set(np.asarray(scores).tolist())) < np.asarray(scores).size


def sklearn_threshold_ap(scores: np.ndarray, relevant: np.ndarray) -> float:
    """scikit-learn's ``average_precision_score``: every distinct score is one threshold,
    so every relevant item of a tie group gets the precision at the group's end."""
    ap, seen_rel, seen = 0.0, 0, 0
    for level in sorted(set(scores.tolist()), reverse=True):
        group = scores == level
        seen += int(group.sum())
        new_rel = int(relevant[group].sum())
        seen_rel += new_rel
        ap += new_rel * seen_rel / seen
    return ap / max(int(relevant.sum()), 1)


def expected_ap_over_tie_orders(scores: np.ndarray, relevant: np.ndarray) -> float:
    """The exact mean AP over uniformly random orders of tied items (McSherry & Najork
    2008), with plain loops: in a tie group of t items with r relevant, after R' relevant
    items above it, the item at its j-th slot is relevant with probability r/t and then has
    on average R' + 1 + (j-1)(r-1)/(t-1) relevant items at or above it."""
    total_rel = int(relevant.sum())
    if total_rel == 0:
        return 0.0
    ap, above, position = 0.0, 0, 0
    for level in sorted(set(scores.tolist()), reverse=True):
        group = scores == level
        t, r = int(group.sum()), int(relevant[group].sum())
        for j in range(1, t + 1):
            hits = above + 1 + (j - 1) * (r - 1) / (t - 1) if t > 1 else above + 1
            ap += (r / t) * hits / (position + j)
        above += r
        position += t
    return ap / total_rel


def ap_by_enumeration(scores: np.ndarray, relevant: np.ndarray) -> float | None:
    """The same mean by enumerating every order of the tie groups (None when too many)."""
    levels = sorted(set(scores.tolist()), reverse=True)
    groups = [np.flatnonzero(scores == v).tolist() for v in levels]
    if math.prod(math.factorial(len(g)) for g in groups) > 5000:
        return None
    values = []
    for arrangement in itertools.product(*(itertools.permutations(g) for g in groups)):
        rel = [bool(relevant[i]) for group in arrangement for i in group]
        hits, ap = 0, 0.0
        for pos, is_rel in enumerate(rel, start=1):
            if is_rel:
                hits += 1
                ap += hits / pos
        values.append(ap / max(sum(rel), 1))
    return float(np.mean(values))
