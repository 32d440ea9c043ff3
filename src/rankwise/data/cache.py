"""A binary cache of ranking data: ``.npy`` arrays loaded memory-mapped, no pickle.

A cache entry is a directory holding ``features.npy``, ``labels.npy``,
``query_offsets.npy``, ``qids.npy``, optionally ``docids.npy`` and ``comments.npy``
(fixed-width unicode, so they map too), and ``meta.json`` (format version, rankwise
version, the source signature and loader options, the load report).

Two ways to use it:

- explicitly, with :func:`save_cache` / :func:`load_cache` on a directory of your choice
  (``rankwise data convert data.txt data.rwcache``);
- transparently, with ``read_svmlight(path, cache=True)``: the entry lives in the cache
  directory (``$RANKWISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/rankwise``, else
  ``~/.cache/rankwise``) under a key made of the source's resolved path, size, mtime,
  a hash of its whole content and the loader options. A stale entry is rebuilt.

Integrity (``cache_check``): with ``"full"`` (the default) the source key hashes the whole
source file and every array of an entry is checked against the checksum written with it
(xxh3-128, at memory speed), so an edit of the source that kept its size and mtime, or a
changed byte in a cached array, is seen: a damaged entry is rebuilt from the source
(:func:`load_cache` on its own raises :class:`~rankwise.errors.DataFormatError`). With
``"fast"`` the key hashes only the first and last MiB of the source and the arrays are
not checked: a reload touches no data, but those two cases go unseen.

Entries are written to a temporary directory and renamed into place, so a crash or a
concurrent writer never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rankwise._hashing import content_hash, file_hash
from rankwise._version import __version__
from rankwise.data._io import CACHE_CHECKS, CacheCheck, PathLike, file_signature
from rankwise.data.ranking_data import LoadReport, RankingData
from rankwise.errors import DataFormatError

CACHE_FORMAT = 2
_ARRAYS = ("features", "labels", "query_offsets", "qids", "docids", "comments")


def default_cache_dir() -> Path:
    """``$RANKWISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/rankwise``, else ``~/.cache/rankwise``."""
    env = os.environ.get("RANKWISE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rankwise"


def save_cache(data: RankingData, directory: PathLike, meta: dict[str, Any] | None = None) -> Path:
    """Write ``data`` as a cache directory (atomically: temporary directory, then rename)."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        checksums = {}
        for name in _ARRAYS:
            arr = getattr(data, name)
            if arr is None:
                continue
            if arr.dtype == object:
                arr = arr.astype(np.str_)
            arr = np.ascontiguousarray(arr)
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
            checksums[name] = content_hash(arr)
        info = {
            "format": CACHE_FORMAT,
            "rankwise_version": __version__,
            "report": data.report.to_dict() if data.report is not None else None,
            "checksums": checksums,
            **(meta or {}),
        }
        (tmp / "meta.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        if target.exists():
            # Replace an old entry: move it aside first so the rename below is atomic.
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, stale / "entry")
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_cache_meta(directory: PathLike) -> dict[str, Any]:
    """The ``meta.json`` of a cache directory."""
    path = Path(directory) / "meta.json"
    if not path.is_file():
        raise DataFormatError(f"{directory} is not a rankwise cache (no meta.json)")
    meta: dict[str, Any] = json.loads(path.read_text())
    if meta.get("format") != CACHE_FORMAT:
        raise DataFormatError(
            f"{directory}: cache format {meta.get('format')!r} is not {CACHE_FORMAT}; rebuild it"
        )
    return meta


def npy_data_offset(path: PathLike) -> int:
    """Where the array data of a ``.npy`` file start (after its header)."""
    fmt = np.lib.format
    with open(path, "rb") as f:
        version = fmt.read_magic(f)
        if version == (1, 0):
            fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            fmt.read_array_header_2_0(f)
        else:
            raise DataFormatError(f"{path}: .npy format version {version} is not supported")
        return f.tell()


def verify_array_file(path: PathLike, checksum: str | None) -> None:
    """Check the data of the cached ``.npy`` file ``path`` against the checksum written
    with it, reading the file in blocks (nothing stays mapped or resident).

    Raises:
        DataFormatError: no checksum, or a different one (the file is damaged).
    """
    if checksum is None or file_hash(path, start=npy_data_offset(path)) != checksum:
        raise DataFormatError(
            f"{path}: the cached array does not match its checksum (damaged); "
            "delete the entry, or read the source again"
        )


def load_cache(
    directory: PathLike, *, mmap: bool = True, check: CacheCheck = "full"
) -> RankingData:
    """Load a cache directory; arrays are memory-mapped read-only unless ``mmap=False``.

    ``check="full"`` verifies every array against the checksum written with it and
    raises :class:`~rankwise.errors.DataFormatError` naming the damaged file; ``"fast"``
    skips that (module docstring).
    """
    if check not in CACHE_CHECKS:
        raise ValueError(f"load_cache: check must be one of {CACHE_CHECKS}, got {check!r}")
    root = Path(directory)
    meta = read_cache_meta(root)
    mode: Literal["r"] | None = "r" if mmap else None
    arrays: dict[str, Any] = {}
    checksums = meta.get("checksums") or {}
    for name in _ARRAYS:
        path = root / f"{name}.npy"
        arrays[name] = np.load(path, mmap_mode=mode, allow_pickle=False) if path.exists() else None
        if arrays[name] is None and name in checksums:
            raise DataFormatError(f"{directory}: cache entry lacks {name}.npy")
        if check == "full" and arrays[name] is not None:
            verify_array_file(path, checksums.get(name))
    for required in ("features", "labels", "query_offsets", "qids"):
        if arrays[required] is None:
            raise DataFormatError(f"{directory}: cache entry lacks {required}.npy")
    report = LoadReport.from_dict(meta["report"]) if meta.get("report") else LoadReport()
    report.from_cache = True
    return RankingData(report=report, **arrays)


def cache_key(signature: dict[str, Any], kind: str, options: dict[str, Any]) -> str:
    """The cache entry's name: a hash of the source file's signature, the reader and its options."""
    blob = json.dumps(
        {"signature": signature, "kind": kind, "options": options, "format": CACHE_FORMAT},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cached_load(
    path: PathLike,
    *,
    kind: str,
    options: dict[str, Any],
    loader: Callable[[], RankingData],
    cache_dir: Path | None = None,
    check: CacheCheck = "full",
) -> RankingData:
    """Load ``path`` through the cache: reuse a fresh, intact entry, else run ``loader``
    and store it (``check``: module docstring)."""
    root = cache_dir if cache_dir is not None else default_cache_dir()
    signature = file_signature(path, check)
    key = cache_key(signature, kind, options)
    entry = root / f"{Path(path).name}.{key}"
    if (entry / "meta.json").is_file():
        try:
            return load_cache(entry, check=check)
        except (DataFormatError, ValueError, OSError):
            pass  # damaged or outdated entry: rebuilt below
    data = loader()
    save_cache(data, entry, meta={"source": signature, "kind": kind, "options": options})
    _prune_stale(root, Path(path).name, signature, keep=entry)
    return data


def _prune_stale(root: Path, name: str, signature: dict[str, Any], keep: Path) -> None:
    """Remove entries built from another version of the same source file.

    Entries of the same version (other reader options, or the other ``check`` mode, whose
    signature has other fields) are kept; an entry is stale when the file's size or mtime
    differ, or when its signature has the same fields and another value (a content edit
    that kept both).
    """
    for other in root.glob(f"{name}.*"):
        if other == keep or not other.is_dir():
            continue
        try:
            theirs = json.loads((other / "meta.json").read_text()).get("source", {})
        except (OSError, ValueError):
            continue
        if not isinstance(theirs, dict) or theirs.get("path") != signature["path"]:
            continue
        moved = any(theirs.get(k) != signature[k] for k in ("size", "mtime_ns"))
        edited = set(theirs) == set(signature) and theirs != signature
        if moved or edited:
            shutil.rmtree(other, ignore_errors=True)
