"""LETOR fold directories: one call returns the train, validation and test splits."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rankwise.data._io import PathLike
from rankwise.data.ranking_data import RankingData
from rankwise.data.svmlight import read_svmlight
from rankwise.errors import DataFormatError

# File names used by LETOR 4.0 / MSLR (first) and LETOR 3.0 (second), with optional
# compression suffixes.
_SPLIT_NAMES = {
    "train": ("train", "trainingset"),
    "vali": ("vali", "validationset"),
    "test": ("test", "testset"),
}
_SUFFIXES = (".txt", ".txt.gz", ".txt.xz", ".txt.bz2")


class LetorFold(NamedTuple):
    """The three splits of one fold."""

    train: RankingData
    vali: RankingData
    test: RankingData


def load_letor_fold(directory: PathLike, fold: int | None = None, **read_options: Any) -> LetorFold:
    """Load one LETOR fold as ``(train, vali, test)``.

    Two layouts are understood:

    - ``directory`` holds the split files itself: ``train.txt``, ``vali.txt``,
      ``test.txt`` (LETOR 4.0, MSLR) or ``trainingset.txt``, ``validationset.txt``,
      ``testset.txt`` (LETOR 3.0), optionally compressed. Pass the ``FoldK`` directory,
      or the data set directory together with ``fold=K``.
    - ``directory`` holds a ``folds.tsv`` (columns ``fold``, ``split``,
      ``parts_in_order``) that lists, for each fold and split, the part files to
      concatenate, e.g. ``S1.txt+S2.txt+S3.txt``; ``fold`` is then required. This is how
      the MQ2008 and OHSUMED copies under ``shared/data`` are distributed.

    ``read_options`` go to :func:`rankwise.data.read_svmlight` (e.g. ``nonfinite="fill"``,
    ``cache=True``). All three splits must have the same number of features; when it
    is inferred, the widest split decides and the others are read with that width.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no such fold directory: {root}")
    if (root / "folds.tsv").is_file():
        if fold is None:
            raise DataFormatError(f"{root} has a folds.tsv: pass fold=K to choose a fold")
        return _from_folds_table(root, fold, read_options)
    split_dir = root / f"Fold{fold}" if fold is not None else root
    files = {split: _find_split(split_dir, split) for split in _SPLIT_NAMES}
    return _read_splits({k: [v] for k, v in files.items()}, read_options)


def _find_split(directory: Path, split: str) -> Path:
    for stem in _SPLIT_NAMES[split]:
        for suffix in _SUFFIXES:
            candidate = directory / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    expected = ", ".join(f"{s}.txt" for s in _SPLIT_NAMES[split])
    raise FileNotFoundError(f"{directory}: no {split} split file (looked for {expected})")


def _from_folds_table(root: Path, fold: int, read_options: dict[str, Any]) -> LetorFold:
    with open(root / "folds.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    wanted = f"Fold{fold}"
    parts: dict[str, list[Path]] = {}
    for row in rows:
        if row.get("fold") == wanted and row.get("split") in _SPLIT_NAMES:
            parts[row["split"]] = [root / p for p in row["parts_in_order"].split("+")]
    missing = [s for s in _SPLIT_NAMES if s not in parts]
    if missing:
        folds = sorted({r.get("fold", "?") for r in rows})
        raise DataFormatError(
            f"{root / 'folds.tsv'}: fold {wanted} lacks splits {missing} (folds listed: {folds})"
        )
    return _read_splits(parts, read_options)


def _read_splits(files: dict[str, list[Path]], read_options: dict[str, Any]) -> LetorFold:
    loaded: dict[Path, RankingData] = {}
    for paths in files.values():
        for p in paths:
            if p not in loaded:
                loaded[p] = read_svmlight(p, **read_options)
    # With an inferred width, a part that never mentions the last features is narrower;
    # absent SVMlight features are 0, so zero columns line the parts up exactly.
    width = max(d.num_features for d in loaded.values())
    splits = {}
    for split, paths in files.items():
        pieces = [_widen(loaded[p], width) for p in paths]
        splits[split] = pieces[0] if len(pieces) == 1 else RankingData.concat(pieces)
    return LetorFold(splits["train"], splits["vali"], splits["test"])


def _widen(data: RankingData, width: int) -> RankingData:
    if data.num_features == width:
        return data
    return data.with_features(np.pad(data.features, ((0, 0), (0, width - data.num_features))))
