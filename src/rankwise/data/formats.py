"""One entry point for every on-disk format: SVMlight text, Parquet, cache directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rankwise.data._io import PathLike
from rankwise.data.ranking_data import RankingData
from rankwise.errors import DataFormatError

Format = Literal["svmlight", "parquet", "cache"]
_PARQUET = (".parquet", ".pq")
_CACHE = (".rwcache",)
_SVMLIGHT = (".txt", ".svm", ".svmlight", ".libsvm", ".letor", ".gz", ".xz", ".bz2")


def detect_format(path: PathLike, *, for_writing: bool = False) -> Format:
    """The format of ``path``: a cache directory, Parquet by suffix, SVMlight otherwise.

    For writing, the suffix decides (``.parquet``/``.pq``, ``.rwcache``, or an SVMlight
    suffix such as ``.txt``/``.gz``); an unknown suffix is an error rather than a guess.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _CACHE or (not for_writing and p.is_dir() and (p / "meta.json").is_file()):
        return "cache"
    if suffix in _PARQUET:
        return "parquet"
    if not for_writing or suffix in _SVMLIGHT:
        return "svmlight"
    raise ValueError(
        f"cannot tell the output format from {p.name!r}: use a suffix among "
        f"{', '.join(_SVMLIGHT + _PARQUET + _CACHE)} or pass the format explicitly"
    )


def load(
    path: PathLike,
    *,
    format: Format | None = None,
    num_features: int | None = None,
    **options: Any,
) -> RankingData:
    """Load ranking data from any supported format (``options`` go to that reader).

    ``num_features``: the width the data must have. SVMlight files, which name only the
    features a line uses, are read at that width; Parquet files and caches carry their
    own width, which must equal it (a :class:`~rankwise.errors.DataFormatError` names
    the file and both widths otherwise).
    """
    from rankwise.data.cache import load_cache
    from rankwise.data.parquet import read_parquet
    from rankwise.data.svmlight import read_svmlight

    kind = format or detect_format(path)
    if kind == "svmlight":
        if num_features is not None:
            options["num_features"] = num_features
        return read_svmlight(path, **options)
    data = load_cache(path, **options) if kind == "cache" else read_parquet(path, **options)
    if num_features is not None and data.num_features != num_features:
        raise DataFormatError(
            f"{path}: {data.num_features} features, expected {num_features} (the width of "
            "the data it is used with)"
        )
    return data


def save(
    data: RankingData, path: PathLike, *, format: Format | None = None, **options: Any
) -> None:
    """Write ranking data in the format given or implied by the suffix of ``path``."""
    from rankwise.data.cache import save_cache
    from rankwise.data.parquet import write_parquet
    from rankwise.data.svmlight import write_svmlight

    kind = format or detect_format(path, for_writing=True)
    if kind == "cache":
        save_cache(data, path)
    elif kind == "parquet":
        write_parquet(data, path, **options)
    else:
        write_svmlight(data, path, **options)


def read_scores(spec: PathLike, data_path: PathLike) -> tuple[str, npt.NDArray[np.float64]]:
    """``(name, scores)`` of one score per document of the data at ``data_path``: from a
    text file of numbers (one per line; ``spec`` is its path, the name its file name), or
    from a column of that data when it is Parquet (``spec`` is the column's name).

    Raises:
        DataFormatError: a line that is not one finite number (naming the file and the
            line), a file without scores, or a Parquet column that is missing or not
            numeric.
    """
    path = Path(spec)
    if path.is_file():
        return path.name, read_score_file(path)
    if detect_format(data_path) == "parquet":
        import pyarrow.parquet as pq

        column = str(spec)
        names = pq.read_schema(data_path).names
        if column not in names:
            raise DataFormatError(
                f"--scores {column!r}: neither a file nor a column of {data_path} "
                f"(columns: {names})"
            )
        from rankwise.data.parquet import numeric_column

        values = numeric_column(pq.read_table(data_path, columns=[column]), column, data_path)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                f"{data_path}: column {column!r}, row {row}: score {values[row]} is not finite"
            )
        return column, values
    raise DataFormatError(f"--scores {str(spec)!r} is neither a file nor a Parquet column")


def read_score_file(path: PathLike) -> npt.NDArray[np.float64]:
    """One finite number per line (blank lines and ``#`` comment lines skipped; plain or
    compressed).

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
        >>> _ = p.write_text("# scores\\n0.5\\n-2\\n\\n1e3\\n")
        >>> read_score_file(p).tolist()
        [0.5, -2.0, 1000.0]
    """
    from rankwise.data._io import text_lines
    from rankwise.errors import ParseError

    scores: list[float] = []
    for number, text in text_lines(path):
        try:
            value = float(text)
        except ValueError:
            raise ParseError(str(path), number, "a score line must hold one number", text) from None
        if not np.isfinite(value):
            raise ParseError(str(path), number, f"score {text!r} is not finite", text)
        scores.append(value)
    if not scores:
        raise DataFormatError(f"{path}: the score file holds no score")
    return np.asarray(scores, dtype=np.float64)
