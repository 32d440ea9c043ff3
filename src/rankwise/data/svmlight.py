"""SVMlight / LETOR text: a streaming, vectorised reader and a round-tripping writer.

Format, one document per line::

    <label> qid:<qid> <index>:<value> <index>:<value> ... [# comment]

- ``label`` is a number (graded relevance); ``qid`` a non-negative integer; ``index``
  a 1-based feature index (a positive integer); ``value`` a number or the literal
  ``NULL`` (LETOR 3.0 "Feature-null" files). Features a line does not mention are 0.
- Numbers: ``[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?`` or ``nan``/``inf``/
  ``infinity`` in any case. Separators: spaces, tabs (and ``\\r``, ``\\v``, ``\\f``).
- Everything after the first ``#`` is the comment; ``docid = D`` in it gives the
  document id. Blank and comment-only lines carry no document and are counted as
  skipped lines in the load report.
- Files may be plain or gzip/xz/bz2 compressed (detected from their first bytes).
- Line breaks: ``\\n``, ``\\r\\n``, or ``\\r`` alone (old Mac files).
- LightGBM's and XGBoost's layout: lines **without** ``qid:`` and a side file of group
  sizes, one integer per line, in file order (``train.txt`` with ``train.txt.query`` or
  ``train.txt.group``). The side file is found next to the data when the data has no
  ``qid:`` (``group_file="auto"``) or given explicitly; sizes that do not add up to the
  number of documents are an error naming both counts. :func:`write_svmlight` writes the
  layout with ``group_file=True``. Queries are then numbered 0, 1, ... in file order.

How it is fast: the file is read in blocks of whole lines; each block is tokenised
with numpy (separator lookup, token boundaries, structure checks for the whole block
at once) and its numbers are converted by Arrow's strict C++ parser. Whenever a block
does not pass those checks, a line-by-line reference parser re-reads it to name the
exact line and token (or, if the block was merely unusual, to parse it). Both share
one grammar and one set of semantic checks, and a property test holds them equal.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rankwise.data._io import (
    ByteProgress,
    CacheCheck,
    PathLike,
    iter_line_chunks,
    open_binary_read,
    open_binary_write,
    text_lines,
)
from rankwise.data.ranking_data import (
    LoadReport,
    RankingData,
    describe_label_range,
    invalid_labels,
)
from rankwise.errors import CHOOSE, DataFormatError, ParseError, Placeholder, Remedy

NonFinitePolicy = Literal["error", "fill"]
NonContiguousPolicy = Literal["error", "group"]

#: Largest feature index accepted when ``num_features`` is inferred; beyond it a dense
#: layout would be unreasonable and the index is more likely a typo.
MAX_INFERRED_FEATURES = 1 << 20
# 1 MiB blocks keep the per-block temporaries (about 30 bytes per input byte) small
# next to the output, at no measurable cost in speed (benchmarks/README.md).
DEFAULT_CHUNK_SIZE = 1 << 20
# Arrow's default pool (jemalloc) keeps freed pages around; the parser's temporaries
# are short-lived, so they go to the system allocator, which returns them at once.
_POOL = pa.system_memory_pool()

_INT64_MAX = (1 << 63) - 1
_NEWLINE, _HASH, _COLON = ord("\n"), ord("#"), ord(":")
_WHITESPACE = re.compile(rb"[ \t\r\x0b\x0c]+")
_NUMBER = re.compile(
    rb"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))"
)
_DIGITS = re.compile(rb"[0-9]+")
_DOCID = re.compile(r"docid\s*=\s*(\S+)")
# the label of every line that holds a document (neither blank nor comment-only)
_LABEL_AT_LINE_START = re.compile(rb"(?m)^([ \t\x0b\x0c\r]*[^\s#]+)")
_INSERTED_QID = " qid:0"
GROUP_SUFFIXES = (".query", ".group")


@dataclass(frozen=True)
class SVMLightOptions:
    """Validation policies of the reader (also part of the cache key).

    Attributes:
        num_features: expected width; indices beyond it are an error. ``None`` infers
            the width as the largest index seen.
        min_label, max_label: allowed label range (inclusive); ``None`` is unbounded.
        nonfinite: what to do with ``NULL``, NaN, infinite or float32-overflowing feature
            values: ``"error"`` (default) or ``"fill"`` with ``fill_value`` (counted per
            kind in the load report).
        fill_value: the value used by ``nonfinite="fill"``.
        noncontiguous: a query whose lines are not contiguous: ``"error"`` (default) or
            ``"group"`` (documents regrouped under the query's first appearance, their
            order kept; counted in the load report).
        allow_empty: whether a file with no document is a valid (empty) data set.
    """

    num_features: int | None = None
    min_label: float | None = 0.0
    max_label: float | None = None
    nonfinite: NonFinitePolicy = "error"
    fill_value: float = 0.0
    noncontiguous: NonContiguousPolicy = "error"
    allow_empty: bool = False

    def __post_init__(self) -> None:
        if self.num_features is not None and self.num_features < 0:
            raise ValueError(f"num_features must be >= 0, got {self.num_features}")
        if self.nonfinite not in ("error", "fill"):
            raise ValueError(f"nonfinite must be 'error' or 'fill', got {self.nonfinite!r}")
        if self.noncontiguous not in ("error", "group"):
            raise ValueError(
                f"noncontiguous must be 'error' or 'group', got {self.noncontiguous!r}"
            )
        if not np.isfinite(self.fill_value):
            raise ValueError(f"fill_value must be finite, got {self.fill_value!r}")
        if (
            self.min_label is not None
            and self.max_label is not None
            and self.min_label > self.max_label
        ):
            raise ValueError(f"min_label {self.min_label} > max_label {self.max_label}")

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (part of a cache key)."""
        return asdict(self)


# --------------------------------------------------------------------------- tokenising
@dataclass
class _Block:
    """The syntax-level content of a block of lines (before semantic checks).

    Per document (non-blank line): label, qid, absolute line number, byte offset of
    the line in ``buf``, comment. Per feature token: document (within block), index,
    value, and whether the value was the literal ``NULL``.
    """

    buf: bytes
    labels: npt.NDArray[np.float64]
    qids: npt.NDArray[np.int64]
    line_numbers: npt.NDArray[np.int64]
    line_offsets: npt.NDArray[np.int64]
    value_doc: npt.NDArray[np.int64]
    value_index: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    value_null: npt.NDArray[np.bool_]
    comments: list[str] | None
    lines: int
    skipped_lines: int

    @property
    def num_docs(self) -> int:
        return int(self.labels.size)

    def line_text(self, doc: int) -> str:
        start = int(self.line_offsets[doc])
        end = self.buf.find(b"\n", start)
        return self.buf[start:end].decode("utf-8", "backslashreplace").rstrip("\r")


def _tokenize_fast(buf: bytes, first_line: int) -> _Block | None:
    """Tokenise a block of whole lines with numpy and Arrow; ``None`` if it is not clean.

    ``buf`` must end with a newline. ``None`` means some check failed: the caller then
    runs :func:`_tokenize_reference`, which finds and names the problem (or parses a
    block that was merely unusual, such as one with control characters).
    """
    a = np.frombuffer(buf, dtype=np.uint8)
    n = a.size
    # Bytes 0-8 and 14-31 would be misread by the comparisons below; leave such (rare)
    # blocks to the reference parser.
    if ((a < 9) | ((a > 13) & (a < 32))).any():
        return None
    newlines = np.flatnonzero(a == _NEWLINE)
    n_lines = newlines.size
    line_starts = np.empty(n_lines, dtype=np.int64)
    line_starts[0] = 0
    line_starts[1:] = newlines[:-1] + 1

    # Token bytes: everything above space except the colon and the comment mark.
    token = (a > 32) & (a != _HASH) & (a != _COLON)
    hashes = np.flatnonzero(a == _HASH)
    comment_start: npt.NDArray[np.int64] | None = None
    n_colons = int(np.count_nonzero(a == _COLON))
    if hashes.size:
        hash_line = np.searchsorted(newlines, hashes)
        first = np.empty(hash_line.size, dtype=bool)
        first[0] = True
        np.not_equal(hash_line[1:], hash_line[:-1], out=first[1:])
        starts, lines_with = hashes[first], hash_line[first]
        marks = np.zeros(n + 1, dtype=np.int8)
        marks[starts] = 1
        marks[newlines[lines_with]] = -1
        in_comment = np.cumsum(marks[:-1], dtype=np.int8).astype(bool)
        token &= ~in_comment
        n_colons -= int(np.count_nonzero((a == _COLON) & in_comment))
        comment_start = np.full(n_lines, -1, dtype=np.int64)
        comment_start[lines_with] = starts

    padded = np.zeros(n + 2, dtype=bool)
    padded[1:-1] = token
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    tok_start, tok_end = edges[0::2], edges[1::2]
    n_tok = tok_start.size

    # Every colon must sit between two tokens: then the colons are exactly the token
    # ends followed by a colon, and exactly the token starts preceded by one.
    before_colon = a[tok_end] == _COLON
    # At index -1 (a token at the very start) this reads the block's final newline.
    after_colon = a[tok_start - 1] == _COLON
    if not (n_colons == int(before_colon.sum()) == int(after_colon.sum())):
        return None

    cum = np.searchsorted(tok_start, newlines)
    counts = np.diff(cum, prepend=0)
    nonblank = counts > 0
    if (counts[nonblank] < 3).any() or not (counts[nonblank] & 1).all():
        return None
    line_of_tok = np.repeat(np.arange(n_lines, dtype=np.int64), counts)
    pos = np.arange(n_tok, dtype=np.int64) - (cum - counts)[line_of_tok]
    odd = (pos & 1).astype(bool)
    # Expected shape: label, qid ':' qidvalue, then index ':' value pairs.
    if not np.array_equal(before_colon, odd):
        return None
    if not np.array_equal(after_colon, ~odd & (pos >= 2)):
        return None
    qid_tok = pos == 1
    qs, qe = tok_start[qid_tok], tok_end[qid_tok]
    if not (
        ((qe - qs) == 3).all()
        and (a[qs] == ord("q")).all()
        and (a[qs + 1] == ord("i")).all()
        and (a[qs + 2] == ord("d")).all()
    ):
        return None

    # Every token but the literal "qid" becomes one Arrow string, and all of them are
    # converted by one strict float cast. Integers (qids, indices) are checked to be
    # digit strings and short enough to be exact in float64.
    keep = ~qid_tok
    token[qs] = token[qs + 1] = token[qs + 2] = False
    k_start, k_end, k_pos = tok_start[keep], tok_end[keep], pos[keep]
    lengths = (k_end - k_start).astype(np.int32)
    offsets = np.zeros(lengths.size + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    strings = pa.StringArray.from_buffers(
        lengths.size, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(a[token]))
    )
    is_label = k_pos == 0
    is_integer = (k_pos & 1).astype(bool) | (k_pos == 2)
    if (lengths[is_integer] > 15).any():
        return None
    value_null: npt.NDArray[np.bool_] | None = None
    try:
        digits = pc.ascii_is_decimal(strings, memory_pool=_POOL).to_numpy(zero_copy_only=False)
        if not digits[is_integer].all():
            return None
        if b"NULL" in buf:
            null_arrow = pc.equal(strings, "NULL", memory_pool=_POOL)
            value_null = null_arrow.to_numpy(zero_copy_only=False)
            if value_null[is_integer | is_label].any():
                return None
            strings = pc.if_else(null_arrow, "nan", strings, memory_pool=_POOL)
        numbers = _cast_float(strings)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    is_value = ~is_integer & ~is_label
    is_index = (k_pos & 1).astype(bool)

    doc_lines = np.flatnonzero(nonblank)
    doc_of_line = np.cumsum(nonblank) - 1
    comments: list[str] | None = None
    if comment_start is not None and (comment_start[doc_lines] >= 0).any():
        cs = comment_start[doc_lines].tolist()
        ends = newlines[doc_lines].tolist()
        comments = [
            _decode_comment(buf[c + 1 : e]) if c >= 0 else "" for c, e in zip(cs, ends, strict=True)
        ]
    return _Block(
        buf=buf,
        labels=numbers[is_label],
        qids=numbers[k_pos == 2].astype(np.int64),
        line_numbers=doc_lines + first_line,
        line_offsets=line_starts[doc_lines],
        value_doc=doc_of_line[line_of_tok[keep][is_value]],
        value_index=numbers[is_index].astype(np.int64),
        values=numbers[is_value],
        value_null=(
            value_null[is_value]
            if value_null is not None
            else np.zeros(int(is_value.sum()), dtype=bool)
        ),
        comments=comments,
        lines=n_lines,
        skipped_lines=n_lines - doc_lines.size,
    )


def _cast_float(strings: pa.Array) -> npt.NDArray[np.float64]:
    cast = pc.cast(strings, pa.float64(), memory_pool=_POOL)
    out: npt.NDArray[np.float64] = cast.to_numpy(zero_copy_only=False)
    return out


def _decode_comment(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace").strip()


def _tokenize_reference(
    buf: bytes, first_line: int, source: str
) -> tuple[_Block, ParseError | None]:
    """Tokenise line by line; return the block of lines before the first syntax error.

    The error (if any) is returned rather than raised so that the caller can first run
    the semantic checks on the earlier lines: the error reported is always the first
    one in file order.
    """
    labels: list[float] = []
    qids: list[int] = []
    line_numbers: list[int] = []
    line_offsets: list[int] = []
    value_doc: list[int] = []
    value_index: list[int] = []
    values: list[float] = []
    value_null: list[bool] = []
    comments: list[str] = []
    any_comment = False
    lines = skipped = 0
    error: ParseError | None = None
    offset = 0
    raw_lines = buf.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for i, raw in enumerate(raw_lines):
        line_no = first_line + i
        line_offset = offset
        offset += len(raw) + 1
        data, hash_mark, comment = raw.partition(b"#")
        words = _WHITESPACE.split(data.strip(b" \t\r\x0b\x0c"))
        if words == [b""]:
            lines += 1
            skipped += 1
            continue
        try:
            label, qid, pairs = _parse_words(words)
        except _SyntaxProblem as problem:
            text = raw.decode("utf-8", "backslashreplace").rstrip("\r")
            error = ParseError(source, line_no, str(problem), text)
            error.remedy = problem.remedy
            break
        lines += 1
        doc = len(labels)
        labels.append(label)
        qids.append(qid)
        line_numbers.append(line_no)
        line_offsets.append(line_offset)
        for index, value, is_null in pairs:
            value_doc.append(doc)
            value_index.append(index)
            values.append(value)
            value_null.append(is_null)
        if hash_mark:
            any_comment = True
        comments.append(_decode_comment(comment) if hash_mark else "")
    block = _Block(
        buf=buf,
        labels=np.array(labels, dtype=np.float64),
        qids=np.array(qids, dtype=np.int64),
        line_numbers=np.array(line_numbers, dtype=np.int64),
        line_offsets=np.array(line_offsets, dtype=np.int64),
        value_doc=np.array(value_doc, dtype=np.int64),
        value_index=np.array(value_index, dtype=np.int64),
        values=np.array(values, dtype=np.float64),
        value_null=np.array(value_null, dtype=bool),
        comments=comments if any_comment else None,
        lines=lines,
        skipped_lines=skipped,
    )
    return block, error


class _SyntaxProblem(Exception):
    remedy: Remedy | None = None


class _MissingQid(_SyntaxProblem):
    # lines without qid: are LightGBM's layout when a file of group sizes goes with them
    remedy = Remedy(
        {"group_file": Placeholder("PATH")},
        "for lines without qid: and a file of group sizes (LightGBM)",
    )


def _parse_words(words: list[bytes]) -> tuple[float, int, list[tuple[int, float, bool]]]:
    label_word = words[0]
    if not _NUMBER.fullmatch(label_word):
        raise _SyntaxProblem(f"label {_show(label_word)} is not a number")
    if len(words) < 2 or not words[1].startswith(b"qid:"):
        raise _MissingQid("missing 'qid:<id>' after the label")
    qid = _parse_uint(words[1][4:], "qid")
    pairs: list[tuple[int, float, bool]] = []
    for word in words[2:]:
        index_part, colon, value_part = word.partition(b":")
        if not colon:
            raise _SyntaxProblem(f"token {_show(word)} is not of the form <index>:<value>")
        index = _parse_uint(index_part, "feature index", context=word)
        if value_part == b"NULL":
            pairs.append((index, float("nan"), True))
        elif _NUMBER.fullmatch(value_part):
            pairs.append((index, float(value_part), False))
        else:
            raise _SyntaxProblem(
                f"feature value {_show(value_part)} is not a number (token {_show(word)})"
            )
    return float(label_word), qid, pairs


def _parse_uint(text: bytes, what: str, context: bytes | None = None) -> int:
    where = f" (token {_show(context)})" if context is not None else ""
    if not _DIGITS.fullmatch(text):
        raise _SyntaxProblem(f"{what} {_show(text)} is not a non-negative integer{where}")
    value = int(text)
    if value > _INT64_MAX:
        raise _SyntaxProblem(f"{what} {_show(text)} is too large{where}")
    return value


def _show(b: bytes) -> str:
    return repr(b.decode("utf-8", "backslashreplace"))


# ---------------------------------------------------------------------------- assembly
class _Assembler:
    """Checks blocks against the options and places them into the output arrays.

    Features are written straight into one growing [capacity, F] float32 buffer; the
    buffer grows and shrinks with ``ndarray.resize`` (realloc, which the OS serves by
    remapping pages rather than copying for large buffers), so the peak memory stays
    close to the size of the final arrays.
    """

    def __init__(self, source: str, options: SVMLightOptions) -> None:
        self.source = source
        self.options = options
        self.width = options.num_features if options.num_features is not None else 0
        self.features = np.zeros((0, self.width), dtype=np.float32)
        self.rows = 0
        self.labels: list[npt.NDArray[np.float32]] = []
        self.qids: list[npt.NDArray[np.int64]] = []
        self.line_numbers: list[npt.NDArray[np.int64]] = []
        # Per block: comments and docids as numpy string arrays (None: the block had none),
        # so that no per-document Python string outlives its block.
        self.comments: list[npt.NDArray[np.str_] | None] = []
        self.docids: list[npt.NDArray[np.str_] | None] = []
        self.block_docs: list[int] = []
        self.lines = 0
        self.skipped_lines = 0
        self.filled: dict[str, int] = {}

    # ------------------------------------------------------------------ checks
    def _first_violation(self, block: _Block) -> tuple[int, str, Remedy | None] | None:
        """The earliest (document, reason, remedy) in ``block`` that breaks a semantic rule."""
        found: list[tuple[int, str, Remedy | None]] = []
        opts = self.options
        labels = block.labels
        bad = invalid_labels(labels, opts.min_label, opts.max_label)
        if bad.any():
            d = int(np.flatnonzero(bad)[0])
            allowed = describe_label_range(opts.min_label, opts.max_label)
            value = float(labels[d])
            if np.isfinite(value) and abs(value) > float(np.finfo(np.float32).max):
                found.append((d, f"label {value:g} does not fit float32 (largest 3.4e+38)", None))
            else:
                found.append((d, f"label {value:g} outside the allowed range {allowed}", None))
        idx = block.value_index
        if idx.size:
            bad_idx = idx < 1
            limit = opts.num_features if opts.num_features is not None else MAX_INFERRED_FEATURES
            bad_idx |= idx > limit
            if bad_idx.any():
                k = int(np.flatnonzero(bad_idx)[0])
                remedy: Remedy | None = None
                if idx[k] < 1:
                    why = f"feature index {idx[k]} is not allowed (indices are 1-based)"
                elif opts.num_features is not None:
                    why = f"feature index {idx[k]} > the {opts.num_features} features declared"
                else:
                    why = f"feature index {idx[k]} is implausibly large for a dense layout"
                    remedy = Remedy({"num_features": Placeholder("N")}, "if it is intended")
                found.append((int(block.value_doc[k]), why, remedy))
            same_doc = block.value_doc[1:] == block.value_doc[:-1]
            if (same_doc & (idx[1:] <= idx[:-1])).any():
                order = np.lexsort((idx, block.value_doc))
                d_sorted, i_sorted = block.value_doc[order], idx[order]
                dup = (d_sorted[1:] == d_sorted[:-1]) & (i_sorted[1:] == i_sorted[:-1])
                if dup.any():
                    k = int(np.flatnonzero(dup)[0])
                    found.append(
                        (int(d_sorted[k]), f"feature index {i_sorted[k]} appears twice", None)
                    )
        if opts.nonfinite == "error" and block.values.size:
            with np.errstate(over="ignore"):
                as32 = block.values.astype(np.float32)
            nonfinite = ~np.isfinite(as32)
            if nonfinite.any():
                k = int(np.flatnonzero(nonfinite)[0])
                found.append((int(block.value_doc[k]), _nonfinite_reason(block, k), _FILL_REMEDY))
        if not found:
            return None
        return min(found, key=lambda t: t[0])

    def add(self, block: _Block) -> None:
        violation = self._first_violation(block)
        if violation is not None:
            doc, reason, remedy = violation
            error = ParseError(
                self.source, int(block.line_numbers[doc]), reason, block.line_text(doc)
            )
            raise error if remedy is None else error.with_remedy(remedy)
        self.lines += block.lines
        self.skipped_lines += block.skipped_lines
        k = block.num_docs
        if k == 0:
            return
        with np.errstate(over="ignore"):
            values = block.values.astype(np.float32)
        if self.options.nonfinite == "fill":
            nonfinite = ~np.isfinite(values)
            if nonfinite.any():
                self._count_fills(block, nonfinite)
                values[nonfinite] = np.float32(self.options.fill_value)
        if block.value_index.size:
            needed = int(block.value_index.max())
            if needed > self.width:
                self._widen(needed)
        self._reserve(self.rows + k)
        out = self.features[self.rows : self.rows + k]
        out[:] = 0.0
        if values.size:
            flat = block.value_doc * self.width + (block.value_index - 1)
            out.reshape(-1)[flat] = values
        self.rows += k
        self.labels.append(block.labels.astype(np.float32))
        self.qids.append(block.qids)
        self.line_numbers.append(block.line_numbers)
        if block.comments is None:
            self.comments.append(None)
            self.docids.append(None)
        else:
            self.comments.append(np.array(block.comments, dtype=np.str_))
            self.docids.append(_docids_from_comments(block.comments))
        self.block_docs.append(k)

    def _count_fills(self, block: _Block, nonfinite: npt.NDArray[np.bool_]) -> None:
        original = block.values[nonfinite]
        null = block.value_null[nonfinite]
        kinds = {
            "NULL": int(null.sum()),
            "NaN": int((np.isnan(original) & ~null).sum()),
            "infinite": int(np.isinf(original).sum()),
            "float32-overflowing": int((np.isfinite(original)).sum()),
        }
        for kind, count in kinds.items():
            if count:
                self.filled[kind] = self.filled.get(kind, 0) + count

    def _slack_rows(self) -> int:
        """Rows reserved ahead of need: up to 1024, but never more than 16 MiB of them, so
        that a wide layout (one feature index of 1,000,000) costs what its rows need."""
        return max(1, min(1024, (16 << 20) // max(4 * self.width, 1)))

    def _widen(self, width: int) -> None:
        """Grow the feature width (only when it is inferred): one re-layout copy of the
        rows parsed so far, with room for the slack rows only."""
        capacity = min(self.features.shape[0], self.rows + self._slack_rows())
        wider = np.zeros((capacity, width), dtype=np.float32)
        wider[: self.rows, : self.width] = self.features[: self.rows]
        self.features = wider
        self.width = width

    def _reserve(self, rows: int, hint: int | None = None) -> None:
        capacity = self.features.shape[0]
        if rows <= capacity:
            return
        target = max(rows, int(capacity * 1.25) + self._slack_rows(), hint or 0)
        self.features.resize((target, self.width), refcheck=False)

    def reserve_hint(self, estimated_rows: int) -> None:
        """Pre-size the buffer from an estimate of the final number of documents."""
        if estimated_rows > self.features.shape[0]:
            self.features.resize((estimated_rows, self.width), refcheck=False)

    # ------------------------------------------------------------------ finish
    def finish(self) -> RankingData:
        opts = self.options
        if self.rows == 0 and not opts.allow_empty:
            raise DataFormatError(
                f"{self.source}: no document in the data ({self.lines} lines read, "
                f"{self.skipped_lines} blank or comment-only)"
            ).with_remedy(Remedy({"allow_empty": True}, "to accept an empty data set"))
        features = self.features
        features.resize((self.rows, self.width), refcheck=False)
        labels = _concat(self.labels, np.float32)
        qids = _concat(self.qids, np.int64)
        line_numbers = _concat(self.line_numbers, np.int64)
        comments = self._merge_strings(self.comments)
        docids = self._merge_strings(self.docids)
        report = LoadReport(
            sources=[self.source],
            lines=self.lines,
            skipped_lines=self.skipped_lines,
            filled_values=dict(self.filled),
            fill_value=opts.fill_value if opts.nonfinite == "fill" else None,
        )
        return RankingData.from_documents(
            features,
            labels,
            qids,
            docids=docids,
            comments=comments,
            noncontiguous=opts.noncontiguous,
            report=report,
            source=self.source,
            line_numbers=line_numbers,
        )

    def _merge_strings(
        self, parts: list[npt.NDArray[np.str_] | None]
    ) -> npt.NDArray[np.str_] | None:
        """One array over all blocks; blocks without strings contribute ``""``."""
        if all(p is None for p in parts):
            return None
        filled = [
            p if p is not None else np.full(k, "", dtype=np.str_)
            for p, k in zip(parts, self.block_docs, strict=True)
        ]
        return np.concatenate(filled)


def _nonfinite_reason(block: _Block, k: int) -> str:
    index = int(block.value_index[k])
    if block.value_null[k]:
        what = "is NULL"
    elif np.isfinite(block.values[k]):
        what = f"({float(block.values[k])!r}) overflows float32"
    else:
        what = f"is {float(block.values[k])!r}"
    return f"feature {index} {what}; non-finite feature values are an error by default"


_FILL_REMEDY = Remedy({"nonfinite": "fill", "fill_value": CHOOSE}, "to replace them")


def _concat(parts: list[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)


def _docids_from_comments(comments: list[str]) -> npt.NDArray[np.str_] | None:
    """The ``docid = D`` value of each comment (``""`` without one); None if none has one."""
    ids = []
    found = False
    for c in comments:
        m = _DOCID.search(c)
        if m:
            found = True
            ids.append(m.group(1))
        else:
            ids.append("")
    return np.array(ids, dtype=np.str_) if found else None


# -------------------------------------------------------------------------- group files
def find_group_file(path: PathLike) -> Path | None:
    """The side file of group sizes next to ``path`` (``path.query`` or ``path.group``)."""
    for suffix in GROUP_SUFFIXES:
        candidate = Path(f"{path}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def read_group_sizes(path: PathLike) -> npt.NDArray[np.int64]:
    """Group sizes, one positive integer per line (blank and ``#`` lines skipped); errors
    name the file and line."""
    sizes: list[int] = []
    for number, text in text_lines(path):
        if not text.isdigit() or int(text) < 1:
            raise ParseError(str(path), number, "a group size must be a positive integer", text)
        sizes.append(int(text))
    if not sizes:
        raise DataFormatError(f"{path}: the group file holds no group size")
    return np.asarray(sizes, dtype=np.int64)


def _has_qid(path: PathLike) -> bool:
    """Whether the first document line of ``path`` names its query (``qid:``)."""
    stream, raw = open_binary_read(path)
    with stream, raw:
        for block in iter_line_chunks(stream, 1 << 16):
            for line in block.split(b"\n"):
                body = line.split(b"#", 1)[0].strip()
                if body:
                    return b"qid:" in body
    return False


def _insert_qids(buf: bytes, source: str) -> bytes:
    """A block of qid-less lines with ``qid:0`` after each label (the group file assigns
    the queries afterwards); a line that already names a query is an error."""
    if b"qid:" in buf:
        first = next(i for i, line in enumerate(buf.split(b"\n")) if b"qid:" in line)
        raise DataFormatError(
            f"{source}: a group file was given but the data names queries with 'qid:' "
            f"(near line {first + 1} of a block); use one or the other"
        )
    return _LABEL_AT_LINE_START.sub(rb"\1" + _INSERTED_QID.encode(), buf)


def _apply_groups(
    data: RankingData, sizes: npt.NDArray[np.int64], group_path: PathLike, source: str
) -> RankingData:
    total = int(sizes.sum())
    if total != data.num_documents:
        raise DataFormatError(
            f"{group_path}: the group sizes add up to {total:,} documents, but {source} "
            f"holds {data.num_documents:,}"
        )
    offsets = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return RankingData(
        data.features,
        data.labels,
        offsets,
        np.arange(sizes.size, dtype=np.int64),
        docids=data.docids,
        comments=data.comments,
        report=data.report,
    )


def _without_inserted_qid(error: ParseError) -> ParseError:
    shown = ParseError(
        error.path, error.line, error.reason, error.text.replace(_INSERTED_QID, "", 1)
    )
    shown.remedy = error.remedy
    return shown


# ----------------------------------------------------------------------------- drivers
def _parse_blocks(
    blocks: Iterable[tuple[bytes, float]],
    source: str,
    options: SVMLightOptions,
    *,
    group_sizes: npt.NDArray[np.int64] | None = None,
    group_path: PathLike = "",
) -> RankingData:
    """Run tokeniser and assembler over blocks of whole lines.

    Each item is ``(block, fraction)`` where ``fraction`` is the part of the input
    consumed so far (used to pre-size the feature buffer after the first block).
    """
    started = time.perf_counter()
    assembler = _Assembler(source, options)
    line = 1
    sized = False
    for buf, fraction in blocks:
        if group_sizes is not None:
            buf = _insert_qids(buf, source)
        try:
            block = _tokenize_fast(buf, line)
            error: ParseError | None = None
            if block is None:
                block, error = _tokenize_reference(buf, line, source)
            assembler.add(block)
        except ParseError as exc:
            raise _without_inserted_qid(exc) if group_sizes is not None else exc from None
        if error is not None:
            raise _without_inserted_qid(error) if group_sizes is not None else error
        if not sized and block.num_docs and 0 < fraction < 1:
            assembler.reserve_hint(int(block.num_docs / fraction * 1.02) + 16)
            sized = True
        line += block.lines
    data = assembler.finish()
    if group_sizes is not None:
        data = _apply_groups(data, group_sizes, group_path, source)
    assert data.report is not None
    data.report.seconds = time.perf_counter() - started
    return data


def parse_svmlight(
    text: bytes | str,
    *,
    source: str = "<memory>",
    num_features: int | None = None,
    min_label: float | None = 0.0,
    max_label: float | None = None,
    nonfinite: NonFinitePolicy = "error",
    fill_value: float = 0.0,
    noncontiguous: NonContiguousPolicy = "error",
    allow_empty: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    group_sizes: npt.ArrayLike | None = None,
) -> RankingData:
    """Parse SVMlight/LETOR text held in memory (same rules as :func:`read_svmlight`);
    ``group_sizes`` gives the queries of qid-less lines (LightGBM's layout)."""
    options = SVMLightOptions(
        num_features=num_features,
        min_label=min_label,
        max_label=max_label,
        nonfinite=nonfinite,
        fill_value=fill_value,
        noncontiguous=noncontiguous,
        allow_empty=allow_empty,
    )
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    sizes = None if group_sizes is None else np.asarray(group_sizes, dtype=np.int64)
    if sizes is not None and (sizes.ndim != 1 or (sizes < 1).any()):
        raise DataFormatError("group_sizes must be positive integers, one per query")
    return _parse_blocks(
        _memory_blocks(raw, chunk_size), source, options, group_sizes=sizes, group_path=source
    )


def _memory_blocks(raw: bytes, chunk_size: int) -> Iterator[tuple[bytes, float]]:
    import io

    total = max(len(raw), 1)
    stream = io.BytesIO(raw)
    for block in iter_line_chunks(stream, chunk_size):
        yield block, stream.tell() / total


def read_svmlight(
    path: PathLike,
    *,
    num_features: int | None = None,
    min_label: float | None = 0.0,
    max_label: float | None = None,
    nonfinite: NonFinitePolicy = "error",
    fill_value: float = 0.0,
    noncontiguous: NonContiguousPolicy = "error",
    allow_empty: bool = False,
    cache: bool | PathLike = False,
    progress: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    group_file: PathLike | None = "auto",
    cache_check: CacheCheck = "full",
) -> RankingData:
    """Read an SVMlight/LETOR file (plain, gzip, xz or bz2) into :class:`RankingData`.

    Streaming: the file is read in blocks of about ``chunk_size`` bytes of whole lines
    and never held as Python objects; features are densified per document (1-based
    indices, absent features are 0) into one float32 [N, F] array.

    Args:
        path: the file.
        num_features: expected number of features (indices beyond it are an error);
            ``None`` infers it as the largest index seen.
        min_label, max_label: allowed label range, inclusive (default: labels >= 0).
        nonfinite: ``"error"`` (default) stops at the first ``NULL``/NaN/inf feature value
            naming its line; ``"fill"`` replaces them with ``fill_value`` and counts them
            per kind in ``data.report.filled_values``.
        noncontiguous: ``"error"`` (default) if a query's lines are interrupted by
            another query; ``"group"`` regroups them (counted in the report).
        allow_empty: accept a file without any document.
        cache: ``False`` (default) parses every time; ``True`` uses the binary cache in
            the default cache directory (``$RANKWISE_CACHE_DIR`` or
            ``~/.cache/rankwise``); a path uses that directory. The cache entry is keyed
            by the file's resolved path, size, mtime, a hash of its content and the
            options above; a stale or damaged entry is rebuilt.
        cache_check: ``"full"`` (default) hashes the whole file and checks the cached
            arrays against their checksums; ``"fast"`` hashes only the file's first and
            last MiB and trusts the arrays (:mod:`rankwise.data.cache`).
        progress: show a progress bar (bytes read, speed, ETA).
        group_file: LightGBM's layout (lines without ``qid:``, module docstring):
            ``"auto"`` (default) uses ``path.query`` or ``path.group`` when it exists and
            the data has no ``qid:``; a path uses that file; None never reads one.

    Raises:
        ParseError: a line breaks the format or a policy; the message names the file,
            the line number and the offending text.
        DataFormatError: the file holds no document (and ``allow_empty`` is false).

    Example:
        >>> data = parse_svmlight(b"2 qid:1 1:0.5 3:1 # docid = a\\n0 qid:1 2:7 # docid = b\\n")
        >>> data.features.tolist()
        [[0.5, 0.0, 1.0], [0.0, 7.0, 0.0]]
        >>> data.docids.tolist(), data.qids.tolist()
        (['a', 'b'], [1])
    """
    options = SVMLightOptions(
        num_features=num_features,
        min_label=min_label,
        max_label=max_label,
        nonfinite=nonfinite,
        fill_value=fill_value,
        noncontiguous=noncontiguous,
        allow_empty=allow_empty,
    )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such data file: {path}")
    groups: Path | None = None
    if group_file == "auto":
        side = find_group_file(path)
        groups = side if side is not None and not _has_qid(path) else None
    elif group_file is not None:
        groups = Path(group_file)
        if not groups.is_file():
            raise FileNotFoundError(f"no such group file: {groups}")
    if cache is not False:
        from rankwise.data._io import file_signature
        from rankwise.data.cache import cached_load

        cache_dir = None if cache is True else Path(cache)
        key_options = options.to_dict()
        if groups is not None:
            key_options["group_file"] = file_signature(groups, cache_check)
        return cached_load(
            path,
            kind="svmlight",
            options=key_options,
            loader=lambda: _read_file(path, options, progress, chunk_size, groups),
            cache_dir=cache_dir,
            check=cache_check,
        )
    return _read_file(path, options, progress, chunk_size, groups)


def _read_file(
    path: PathLike,
    options: SVMLightOptions,
    progress: bool,
    chunk_size: int,
    groups: Path | None = None,
) -> RankingData:
    sizes = read_group_sizes(groups) if groups is not None else None
    stream, raw = open_binary_read(path)
    with stream, raw, ByteProgress(path, progress, f"reading {Path(path).name}") as bar:
        total = max(bar.total, 1)

        def blocks() -> Iterator[tuple[bytes, float]]:
            for block in iter_line_chunks(stream, chunk_size):
                position = raw.tell()
                bar.update(position)
                yield block, position / total

        return _parse_blocks(
            blocks(), str(path), options, group_sizes=sizes, group_path=groups or ""
        )


# ----------------------------------------------------------------------------- writing
def write_svmlight(
    data: RankingData,
    path: PathLike,
    *,
    sparse: bool = False,
    write_comments: bool = True,
    rows_per_block: int = 16384,
    progress: bool = False,
    group_file: bool = False,
) -> None:
    """Write ``data`` as SVMlight/LETOR text that :func:`read_svmlight` reads back exactly.

    Values are written with the shortest decimal form that round-trips float32, so
    reading the file back gives bit-identical features and labels. ``sparse=True``
    leaves zero-valued features out (smaller files; still exact on reading, given the
    same ``num_features``). Comments are written after ``#``; when the data has docids
    but no comments, ``# docid = D`` is written. The suffix ``.gz``/``.xz``/``.bz2``
    compresses the output. ``group_file=True`` writes LightGBM's layout instead: lines
    without ``qid:`` and the group sizes in ``path.query`` (qids are not kept).

    Raises:
        DataFormatError: qids that are not non-negative integers, or docids/comments
            that cannot be written on one line.
    """
    qids = _integer_qids(data.qids) if not group_file else data.qids
    comments = _comment_strings(data) if write_comments else None
    width = data.num_features
    prefixes = pa.array([f"{j + 1}:" for j in range(width)], type=pa.string())
    doc_qids = np.repeat(qids, data.list_lengths())
    from rich.progress import track

    starts = range(0, data.num_documents, rows_per_block)
    with open_binary_write(path) as out:
        iterator = (
            track(starts, description=f"writing {Path(path).name}", transient=True)
            if progress
            else starts
        )
        for lo in iterator:
            hi = min(lo + rows_per_block, data.num_documents)
            block = data.features[lo:hi]
            if sparse:
                nz_rows, nz_cols = np.nonzero(block)
                values = block[nz_rows, nz_cols]
                counts = np.bincount(nz_rows, minlength=hi - lo)
                cols = nz_cols
            else:
                values = block.reshape(-1)
                counts = np.full(hi - lo, width, dtype=np.int64)
                cols = np.tile(np.arange(width), hi - lo)
            value_text = pc.cast(pa.array(values, type=pa.float32()), pa.string())
            tokens = pc.binary_join_element_wise(
                prefixes.take(pa.array(cols, type=pa.int64())), value_text, ""
            )
            list_offsets = np.zeros(hi - lo + 1, dtype=np.int32)
            np.cumsum(counts, out=list_offsets[1:])
            body = pc.binary_join(pa.ListArray.from_arrays(pa.array(list_offsets), tokens), " ")
            label_text = pc.cast(pa.array(data.labels[lo:hi], type=pa.float32()), pa.string())
            if group_file:
                head = label_text
            else:
                head = pc.binary_join_element_wise(
                    label_text, pc.cast(pa.array(doc_qids[lo:hi]), pa.string()), " qid:"
                )
            line = pc.if_else(
                pa.array(counts > 0), pc.binary_join_element_wise(head, body, " "), head
            )
            if comments is not None:
                c = pa.array(comments[lo:hi], type=pa.string())
                with_comment = pc.binary_join_element_wise(line, c, " # ")
                line = pc.if_else(pc.equal(c, ""), line, with_comment)
            line = pc.binary_join_element_wise(line, pa.scalar("\n"), "")
            offsets = line.buffers()[1]
            first, last = np.frombuffer(offsets, dtype=np.int32)[
                [line.offset, line.offset + len(line)]
            ]
            out.write(memoryview(line.buffers()[2])[first:last])
    if group_file:
        sizes = "\n".join(str(n) for n in data.list_lengths().tolist())
        Path(f"{path}.query").write_text(sizes + "\n", encoding="utf-8")


def _integer_qids(qids: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    if qids.dtype.kind in "iu":
        if qids.size and qids.min() < 0:
            raise DataFormatError("SVMlight qids must be non-negative integers")
        return qids.astype(np.int64)
    try:
        as_int = np.array([int(str(q)) for q in qids.tolist()], dtype=np.int64)
    except ValueError as exc:
        raise DataFormatError(f"SVMlight needs integer qids: {exc}") from None
    if as_int.size and as_int.min() < 0:
        raise DataFormatError("SVMlight qids must be non-negative integers")
    return as_int


def _comment_strings(data: RankingData) -> npt.NDArray[np.str_] | None:
    if data.comments is not None:
        comments = data.comments
    elif data.docids is not None:
        bad = np.char.find(data.docids.astype(str), " ") >= 0
        if bad.any():
            raise DataFormatError(
                f"docid {data.docids[np.flatnonzero(bad)[0]]!r} contains a space and "
                "cannot round-trip through an SVMlight comment"
            )
        comments = np.char.add("docid = ", data.docids.astype(str))
        comments[data.docids == ""] = ""
    else:
        return None
    has_newline = np.char.find(comments.astype(str), "\n") >= 0
    if has_newline.any():
        raise DataFormatError(
            f"comment of document {int(np.flatnonzero(has_newline)[0])} contains a newline"
        )
    return comments
