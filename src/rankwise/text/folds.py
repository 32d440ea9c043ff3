"""Fixed k-fold query splits, so that every number on a collection is cross-validated on
the same folds.

:func:`make_folds` deals a collection's judged queries into ``k`` folds with a seeded
permutation; the folds of Cranfield, Vaswani and TREC DL 2019 made that way (seed 0,
``k = 5``) are stored in the package (``rankwise/text/folds/<name>.json``) and read by
:func:`stored_folds`, so that they never change with a library version. Fold ``f`` is the
test set of round ``f``; :func:`fold_split` gives the training and validation queries of
that round (validation: the next fold, for early stopping and tuning; training: the
rest).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

import numpy as np

from rankwise.errors import DataFormatError

#: Collections with stored folds.
STORED = ("cranfield", "vaswani", "dl19")


def _natural(qid: str) -> tuple[int, int | str]:
    return (0, int(qid)) if qid.isdigit() else (1, qid)


def make_folds(qids: Sequence[str], k: int = 5, *, seed: int = 0) -> list[list[str]]:
    """Deal ``qids`` into ``k`` folds of near-equal size: a seeded permutation of the
    naturally sorted ids (``"2"`` before ``"10"``), split in order; each fold sorted.

    Example:
        >>> make_folds([str(i) for i in range(1, 8)], 3, seed=0)
        [['3', '4', '5'], ['6', '7'], ['1', '2']]
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    unique = sorted(set(qids), key=_natural)
    if len(unique) != len(qids):
        raise ValueError("make_folds: a query id appears twice")
    if len(unique) < k:
        raise ValueError(f"make_folds: {len(unique)} queries cannot fill {k} folds")
    order = np.random.default_rng(seed).permutation(len(unique))
    return [sorted((unique[i] for i in part), key=_natural) for part in np.array_split(order, k)]


def stored_folds(name: str) -> list[list[str]]:
    """The stored folds of collection ``name`` (one of :data:`STORED`)."""
    if name not in STORED:
        raise ValueError(f"no stored folds for {name!r}; stored: {', '.join(STORED)}")
    text = resources.files("rankwise.text").joinpath("folds", f"{name}.json").read_text()
    content = json.loads(text)
    folds: list[list[str]] = content["folds"]
    return folds


def load_folds(name_or_path: str) -> list[list[str]]:
    """Stored folds by name (:data:`STORED`), or the folds of a JSON file
    ``{"folds": [[qid, ...], ...]}`` (as the stored ones, e.g. for a BEIR collection)."""
    if name_or_path in STORED:
        return stored_folds(name_or_path)
    from pathlib import Path

    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"folds {name_or_path!r}: neither stored ({', '.join(STORED)}) nor a JSON file"
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    folds = content.get("folds") if isinstance(content, dict) else None
    if (
        not isinstance(folds, list)
        or len(folds) < 2
        or not all(isinstance(f, list) and f and all(isinstance(q, str) for q in f) for f in folds)
    ):
        raise DataFormatError(f'{path}: expected {{"folds": [[qid, ...], ...]}} with >= 2 folds')
    return folds


def fold_split(
    folds: Sequence[Sequence[str]], test: int, *, validation: bool = True
) -> tuple[list[str], list[str], list[str]]:
    """``(train, valid, test)`` queries of round ``test`` (0-based): the test fold, the next
    fold as validation (empty when ``validation`` is false), the rest for training.

    Example:
        >>> fold_split([["1"], ["2"], ["3"]], 2)
        (['2'], ['1'], ['3'])
    """
    k = len(folds)
    if not 0 <= test < k:
        raise ValueError(f"test fold must be in 0..{k - 1}, got {test}")
    seen = [q for fold in folds for q in fold]
    if len(set(seen)) != len(seen):
        raise DataFormatError("folds overlap: a query is in two folds")
    valid_fold = (test + 1) % k if validation else None
    train = [q for i, fold in enumerate(folds) if i not in (test, valid_fold) for q in fold]
    valid = list(folds[valid_fold]) if valid_fold is not None else []
    return train, valid, list(folds[test])
