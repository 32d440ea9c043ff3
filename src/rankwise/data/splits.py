"""Splitting ranking data by query into train, validation and test parts.

Queries are never split across parts: every document of a query goes where its query
goes. LETOR folds come split already (:func:`rankwise.data.load_letor_fold`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rankwise.data._io import PathLike
from rankwise.data.formats import load
from rankwise.data.ranking_data import RankingData
from rankwise.errors import DataFormatError


class Splits(NamedTuple):
    """Train, validation and test data (either of the last two may be missing)."""

    train: RankingData
    valid: RankingData | None
    test: RankingData | None


def split_queries(
    data: RankingData, *, valid_fraction: float, test_fraction: float, seed: int = 0
) -> Splits:
    """A random split by query: ``round(fraction * Q)`` queries (at least one) each for
    validation and test, the rest for training; each part keeps the data's query order.

    Example:
        >>> from rankwise.data import make_synthetic
        >>> parts = split_queries(make_synthetic(20, 8), valid_fraction=0.2, test_fraction=0.2)
        >>> [p.num_queries for p in parts]
        [12, 4, 4]
    """
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1):
        raise ValueError(
            f"split_queries: fractions must lie in (0, 1), got {valid_fraction}, {test_fraction}"
        )
    order = np.random.default_rng(seed).permutation(data.num_queries)
    n_valid = max(1, round(valid_fraction * data.num_queries))
    n_test = max(1, round(test_fraction * data.num_queries))
    if n_valid + n_test >= data.num_queries:
        raise DataFormatError(
            f"split_queries: {n_valid} validation and {n_test} test queries leave none of "
            f"the {data.num_queries} for training"
        )
    valid_idx = np.sort(order[:n_valid])
    test_idx = np.sort(order[n_valid : n_valid + n_test])
    train_idx = np.sort(order[n_valid + n_test :])
    return Splits(
        data.select_queries(train_idx),
        data.select_queries(valid_idx),
        data.select_queries(test_idx),
    )


def load_splits(
    train: PathLike, valid: PathLike | None = None, test: PathLike | None = None, **options: object
) -> Splits:
    """Read train, validation and test files (any format; ``options`` go to the reader).
    Validation and test data are read at the training data's width, so a feature that
    only the training file uses still lines up.

    Qid-less SVMlight files (LightGBM's layout) find their group files next to them
    (``train.txt.query``, ``valid.txt.query``, ...); one explicit ``group_file`` cannot
    serve several files and is an error when ``valid`` or ``test`` is given.
    """
    if options.get("group_file") not in (None, "auto") and (valid or test):
        raise DataFormatError(
            f"group_file={options['group_file']!r} is one file of group sizes for several "
            "data files; leave it out and put each file's sizes next to it "
            "(train.txt.query, valid.txt.query, test.txt.query), which are found automatically"
        )
    train_data = load(train, **options)  # type: ignore[arg-type]
    width = options.pop("num_features", train_data.num_features)
    parts = [
        load(path, num_features=width, **options) if path else None  # type: ignore[arg-type]
        for path in (valid, test)
    ]
    return Splits(train_data, parts[0], parts[1])
