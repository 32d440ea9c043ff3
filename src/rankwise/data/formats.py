"""One entry point for every on-disk format: SVMlight text, Parquet, cache directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rankwise.data._io import PathLike
from rankwise.data.ranking_data import RankingData

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


def load(path: PathLike, *, format: Format | None = None, **options: Any) -> RankingData:
    """Load ranking data from any supported format (``options`` go to that reader)."""
    from rankwise.data.cache import load_cache
    from rankwise.data.parquet import read_parquet
    from rankwise.data.svmlight import read_svmlight

    kind = format or detect_format(path)
    if kind == "cache":
        return load_cache(path, **options)
    if kind == "parquet":
        return read_parquet(path, **options)
    return read_svmlight(path, **options)


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
