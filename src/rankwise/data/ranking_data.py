"""The in-memory form of a ranking data set: CSR-like arrays, one row per document.

A data set of Q queries with N documents in total and F features is held as

- ``features``      [N, F] float32, the documents of query ``q`` are rows
  ``query_offsets[q]:query_offsets[q + 1]``;
- ``labels``        [N] float32 graded relevance (>= 0 unless the loader was told otherwise);
- ``query_offsets`` [Q + 1] int64, starting at 0 and ending at N, strictly increasing
  (every query has at least one document);
- ``qids``          [Q] query identifiers (int64 for SVMlight data, any integer or
  string dtype otherwise);
- ``docids``        [N] document identifiers as strings, or ``None`` when the source has none;
- ``comments``      [N] the free-text comment of each SVMlight line (``""`` when a line has
  none), or ``None`` when no line had one.

There is never a dense [Q, L_max, F] copy of the whole data set: padding happens per
batch, in :mod:`rankwise.data.dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise.errors import DataFormatError, Remedy

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass
class LoadReport:
    """What a loader did: counts of everything read, filled, regrouped or skipped.

    Nothing is dropped silently by rankwise's loaders; whatever a policy changed is
    counted here and shown by ``rankwise data stats``.
    """

    sources: list[str] = field(default_factory=list)
    lines: int = 0
    skipped_lines: int = 0  # blank or comment-only lines (no data on them)
    filled_values: dict[str, int] = field(default_factory=dict)  # kind -> count
    fill_value: float | None = None
    regrouped_queries: int = 0  # queries whose lines were not contiguous
    from_cache: bool = False
    seconds: float = 0.0

    def merged(self, other: LoadReport) -> LoadReport:
        """The report of two loads combined (used when data sets are concatenated)."""
        filled = dict(self.filled_values)
        for kind, count in other.filled_values.items():
            filled[kind] = filled.get(kind, 0) + count
        return LoadReport(
            sources=self.sources + other.sources,
            lines=self.lines + other.lines,
            skipped_lines=self.skipped_lines + other.skipped_lines,
            filled_values=filled,
            fill_value=self.fill_value if self.fill_value is not None else other.fill_value,
            regrouped_queries=self.regrouped_queries + other.regrouped_queries,
            from_cache=self.from_cache and other.from_cache,
            seconds=self.seconds + other.seconds,
        )

    def notes(self) -> list[str]:
        """Human-readable lines about every non-default thing the loader did."""
        out: list[str] = []
        for kind, count in sorted(self.filled_values.items()):
            if count:
                out.append(f"{count:,} {kind} feature values filled with {self.fill_value!r}")
        if self.regrouped_queries:
            out.append(
                f"{self.regrouped_queries:,} queries had non-contiguous lines and were regrouped"
            )
        if self.skipped_lines:
            out.append(f"{self.skipped_lines:,} blank or comment-only lines skipped")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what the cache stores)."""
        return {
            "sources": list(self.sources),
            "lines": self.lines,
            "skipped_lines": self.skipped_lines,
            "filled_values": dict(self.filled_values),
            "fill_value": self.fill_value,
            "regrouped_queries": self.regrouped_queries,
            "from_cache": self.from_cache,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadReport:
        """Rebuild a report from :meth:`to_dict`."""
        return cls(
            sources=list(d.get("sources", [])),
            lines=int(d.get("lines", 0)),
            skipped_lines=int(d.get("skipped_lines", 0)),
            filled_values={str(k): int(v) for k, v in d.get("filled_values", {}).items()},
            fill_value=d.get("fill_value"),
            regrouped_queries=int(d.get("regrouped_queries", 0)),
            from_cache=bool(d.get("from_cache", False)),
            seconds=float(d.get("seconds", 0.0)),
        )


@dataclass(eq=False)
class RankingData:
    """A ranking data set in CSR-like layout (see the module docstring).

    The constructor validates shapes and dtypes and raises :class:`DataFormatError`
    naming the first inconsistency. Arrays are used as given (no copy), so a
    memory-mapped cache stays memory-mapped.

    Example:
        >>> import numpy as np
        >>> d = RankingData(
        ...     features=np.zeros((3, 2), np.float32),
        ...     labels=np.array([1, 0, 2], np.float32),
        ...     query_offsets=np.array([0, 2, 3]),
        ...     qids=np.array([7, 9]),
        ... )
        >>> d.num_queries, d.num_documents, d.num_features
        (2, 3, 2)
        >>> d.list_lengths().tolist()
        [2, 1]
    """

    features: FloatArray
    labels: FloatArray
    query_offsets: IntArray
    qids: npt.NDArray[Any]
    docids: npt.NDArray[np.str_] | None = None
    comments: npt.NDArray[np.str_] | None = None
    report: LoadReport | None = None

    def __post_init__(self) -> None:
        f, y, off, q = self.features, self.labels, self.query_offsets, self.qids
        if not isinstance(f, np.ndarray) or f.ndim != 2:
            raise DataFormatError(
                f"features must be a 2-d array [documents, features], got shape {_shape(f)}"
            )
        if f.dtype != np.float32:
            raise DataFormatError(f"features must be float32, got {f.dtype}")
        n = f.shape[0]
        if not isinstance(y, np.ndarray) or y.shape != (n,):
            raise DataFormatError(
                f"labels must have shape ({n},) to match features, got {_shape(y)}"
            )
        if y.dtype != np.float32:
            raise DataFormatError(f"labels must be float32, got {y.dtype}")
        if not isinstance(off, np.ndarray) or off.ndim != 1 or off.size < 1:
            raise DataFormatError("query_offsets must be a 1-d array of length num_queries + 1")
        if off.dtype != np.int64:
            raise DataFormatError(f"query_offsets must be int64, got {off.dtype}")
        if off[0] != 0 or off[-1] != n:
            raise DataFormatError(
                f"query_offsets must start at 0 and end at the number of documents ({n}), "
                f"got {int(off[0])} ... {int(off[-1])}"
            )
        if off.size > 1:
            steps = np.diff(off)
            if (steps <= 0).any():
                bad = int(np.flatnonzero(steps <= 0)[0])
                raise DataFormatError(
                    f"query_offsets must be strictly increasing (every query needs a document); "
                    f"query index {bad} has {int(steps[bad])} documents"
                )
        if not isinstance(q, np.ndarray) or q.shape != (off.size - 1,):
            raise DataFormatError(
                f"qids must have shape ({off.size - 1},) (one per query), got {_shape(q)}"
            )
        for name, arr in (("docids", self.docids), ("comments", self.comments)):
            if arr is not None and (not isinstance(arr, np.ndarray) or arr.shape != (n,)):
                raise DataFormatError(
                    f"{name} must have shape ({n},) or be None, got {_shape(arr)}"
                )

    # ----------------------------------------------------------------- sizes
    @property
    def num_queries(self) -> int:
        """Q, the number of queries."""
        return int(self.query_offsets.size - 1)

    @property
    def num_documents(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_features(self) -> int:
        """F, the number of features per document."""
        return int(self.features.shape[1])

    def list_lengths(self) -> IntArray:
        """Number of documents of each query, [Q] int64."""
        return np.diff(self.query_offsets)

    def query_index(self) -> IntArray:
        """For every document, the index (0..Q-1) of its query, [N] int64."""
        return np.repeat(np.arange(self.num_queries, dtype=np.int64), self.list_lengths())

    def has_relevant(self, threshold: float = 0.0) -> npt.NDArray[np.bool_]:
        """[Q] bool: whether each query has at least one label above ``threshold``."""
        if self.num_queries == 0:
            return np.zeros(0, dtype=bool)
        best = np.maximum.reduceat(self.labels, self.query_offsets[:-1])
        return np.asarray(best > threshold)

    def query(self, i: int) -> tuple[FloatArray, FloatArray]:
        """Features [L, F] and labels [L] of query ``i`` (views, no copy)."""
        if not -self.num_queries <= i < self.num_queries:
            raise IndexError(f"query index {i} out of range for {self.num_queries} queries")
        i %= max(self.num_queries, 1)
        lo, hi = int(self.query_offsets[i]), int(self.query_offsets[i + 1])
        return self.features[lo:hi], self.labels[lo:hi]

    # ---------------------------------------------------------- construction
    @classmethod
    def from_documents(
        cls,
        features: FloatArray,
        labels: FloatArray,
        doc_qids: npt.NDArray[Any],
        *,
        docids: npt.NDArray[np.str_] | None = None,
        comments: npt.NDArray[np.str_] | None = None,
        noncontiguous: str = "error",
        report: LoadReport | None = None,
        source: str = "<memory>",
        line_numbers: IntArray | None = None,
    ) -> RankingData:
        """Build a data set from per-document rows and the qid of each row.

        A query is a maximal run of rows with the same qid. If a qid appears in two
        separate runs, ``noncontiguous="error"`` raises (naming the rows, or the lines
        when ``line_numbers`` is given) and ``"group"`` moves the later rows up behind
        the query's first run, keeping their relative order; the number of regrouped
        queries is recorded in ``report.regrouped_queries``.
        """
        from rankwise.errors import ParseError

        if noncontiguous not in ("error", "group"):
            raise ValueError(f"noncontiguous must be 'error' or 'group', got {noncontiguous!r}")
        n = doc_qids.size
        if n == 0:
            return cls(
                features,
                labels,
                np.zeros(1, dtype=np.int64),
                doc_qids[:0],
                docids,
                comments,
                report,
            )
        runs = np.flatnonzero(np.concatenate(([True], doc_qids[1:] != doc_qids[:-1])))
        run_qids = doc_qids[runs]
        uniq, first_run, inverse = np.unique(run_qids, return_index=True, return_inverse=True)
        if uniq.size < run_qids.size:
            repeated = first_run[inverse] < np.arange(run_qids.size)
            if noncontiguous == "error":
                j = int(np.flatnonzero(repeated)[0])
                earlier, later = int(runs[first_run[inverse[j]]]), int(runs[j])
                q = run_qids[j].item() if hasattr(run_qids[j], "item") else run_qids[j]
                regroup = Remedy({"noncontiguous": "group"}, "to regroup them")
                if line_numbers is not None:
                    raise ParseError(
                        source,
                        int(line_numbers[later]),
                        f"qid {q!r} already appeared on line {int(line_numbers[earlier])} with "
                        "other queries in between; a query's lines must be contiguous",
                    ).with_remedy(regroup)
                raise DataFormatError(
                    f"{source}: row {later}: qid {q!r} already appeared at row {earlier} with "
                    "other queries in between; a query's rows must be contiguous"
                ).with_remedy(regroup)
            if report is not None:
                report.regrouped_queries += int(np.unique(run_qids[repeated]).size)
            lengths = np.diff(np.append(runs, n))
            order = np.argsort(np.repeat(first_run[inverse], lengths), kind="stable")
            features, labels, doc_qids = features[order], labels[order], doc_qids[order]
            docids = None if docids is None else docids[order]
            comments = None if comments is None else comments[order]
            runs = np.flatnonzero(np.concatenate(([True], doc_qids[1:] != doc_qids[:-1])))
        offsets = np.append(runs, n).astype(np.int64)
        return cls(features, labels, offsets, doc_qids[runs], docids, comments, report)

    # ------------------------------------------------------------ derivation
    def select_queries(self, indices: npt.ArrayLike) -> RankingData:
        """A new data set holding the given queries (by position), in the given order.

        The arrays are copied; the load report is kept (it describes the source).
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_queries):
            raise IndexError(f"query indices must lie in [0, {self.num_queries})")
        lengths = self.list_lengths()[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = self.query_offsets[:-1][idx]
        rows = _ranges(starts, lengths)
        return RankingData(
            features=np.ascontiguousarray(self.features[rows]),
            labels=np.ascontiguousarray(self.labels[rows]),
            query_offsets=offsets,
            qids=self.qids[idx].copy(),
            docids=None if self.docids is None else self.docids[rows],
            comments=None if self.comments is None else self.comments[rows],
            report=self.report,
        )

    def with_features(self, features: FloatArray) -> RankingData:
        """The same data set with other features (same documents, e.g. after a transform)."""
        if features.shape[0] != self.num_documents:
            raise DataFormatError(
                f"new features have {features.shape[0]} rows, the data set has "
                f"{self.num_documents} documents"
            )
        return replace(self, features=features)

    @classmethod
    def concat(cls, parts: Sequence[RankingData]) -> RankingData:
        """Concatenate data sets query-wise (e.g. the LETOR parts S1+S2+S3 of a fold).

        All parts must have the same number of features. Docids and comments are kept
        when every part has them; if only some parts do, the others contribute ``""``.
        """
        if not parts:
            raise DataFormatError("concat needs at least one data set")
        widths = {p.num_features for p in parts}
        if len(widths) > 1:
            raise DataFormatError(f"cannot concatenate data sets with different widths {widths}")
        offsets = [np.zeros(1, dtype=np.int64)]
        total = 0
        for p in parts:
            offsets.append(p.query_offsets[1:] + total)
            total += p.num_documents
        report: LoadReport | None = None
        for p in parts:
            if p.report is not None:
                report = p.report if report is None else report.merged(p.report)
        return cls(
            features=np.concatenate([p.features for p in parts], axis=0),
            labels=np.concatenate([p.labels for p in parts]),
            query_offsets=np.concatenate(offsets),
            qids=np.concatenate([p.qids for p in parts]),
            docids=_concat_optional_strings([p.docids for p in parts], parts),
            comments=_concat_optional_strings([p.comments for p in parts], parts),
            report=report,
        )

    def __repr__(self) -> str:
        return (
            f"RankingData(queries={self.num_queries:,}, documents={self.num_documents:,}, "
            f"features={self.num_features})"
        )


def invalid_labels(
    labels: npt.NDArray[np.floating[Any]], min_label: float | None, max_label: float | None
) -> npt.NDArray[np.bool_]:
    """True where a label is non-finite, does not fit float32 (the stored labels' type:
    ``1e40`` would become inf), or lies outside ``[min_label, max_label]`` (None: open)."""
    bad: npt.NDArray[np.bool_] = ~np.isfinite(labels)
    bad |= np.abs(labels) > float(np.finfo(np.float32).max)
    if min_label is not None:
        bad |= labels < min_label
    if max_label is not None:
        bad |= labels > max_label
    return bad


def describe_label_range(min_label: float | None, max_label: float | None) -> str:
    """``[min, max]`` with an open side written as -inf/inf, for error messages."""
    lo = "-inf" if min_label is None else f"{min_label:g}"
    hi = "inf" if max_label is None else f"{max_label:g}"
    return f"[{lo}, {hi}]"


def _shape(x: object) -> object:
    return getattr(x, "shape", type(x).__name__)


def _ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of ``arange(s, s + n)`` for every (s, n), without a Python loop."""
    nonempty = lengths > 0
    s, n = starts[nonempty], lengths[nonempty]
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(n)
    steps = np.ones(int(ends[-1]), dtype=np.int64)
    steps[0] = s[0]
    # At the first position of each later run, jump from the previous run's last row.
    steps[ends[:-1]] = s[1:] - (s[:-1] + n[:-1] - 1)
    return np.cumsum(steps)


def _concat_optional_strings(
    arrays: Sequence[npt.NDArray[np.str_] | None], parts: Sequence[RankingData]
) -> npt.NDArray[np.str_] | None:
    if all(a is None for a in arrays):
        return None
    filled = [
        a if a is not None else np.full(p.num_documents, "", dtype=np.str_)
        for a, p in zip(arrays, parts, strict=True)
    ]
    return np.concatenate(filled).astype(np.str_)
