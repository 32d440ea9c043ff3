"""TREC run and qrels files.

- Run: ``qid Q0 docid rank score tag`` per line (whitespace-separated; the second column
  is ignored, as by trec_eval). :class:`TrecRun` holds the columns as arrays.
- Qrels: ``qid iteration docid relevance`` per line. :data:`Qrels` maps
  ``qid -> {docid: relevance}``; relevance is a number (may be negative, e.g. Cranfield's
  -1, which counts as non-relevant for every metric).

Errors name the file and line. A (qid, docid) pair twice in a run or qrels file is an
error: trec_eval would silently keep one of them.

trec_eval ranks a query's documents by score descending and breaks ties by docid
descending; :func:`trec_eval_layout` is the one place that rule is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rankwise.data._io import PathLike, open_binary_write, text_lines
from rankwise.data.ranking_data import RankingData
from rankwise.errors import DataFormatError, ParseError

#: ``qid -> {docid: relevance}``.
Qrels = dict[str, dict[str, float]]


@dataclass
class TrecRun:
    """A ranked run: one row per retrieved document."""

    qids: npt.NDArray[np.str_]
    docids: npt.NDArray[np.str_]
    scores: npt.NDArray[np.float64]
    ranks: npt.NDArray[np.int64]
    tag: str = "rankwise"

    def __len__(self) -> int:
        return int(self.qids.size)

    def select(self, qids: Iterable[str]) -> TrecRun:
        """The rows of the queries ``qids`` (in the run's order)."""
        keep = np.isin(self.qids, np.asarray(sorted(set(qids)), dtype=np.str_))
        return TrecRun(
            self.qids[keep], self.docids[keep], self.scores[keep], self.ranks[keep], self.tag
        )

    def queries(self) -> list[str]:
        """Query ids in order of first appearance."""
        return list(dict.fromkeys(self.qids.tolist()))

    def by_query(self) -> dict[str, tuple[list[str], npt.NDArray[np.float64]]]:
        """``qid -> (docids, scores)``."""
        out: dict[str, tuple[list[str], list[float]]] = {}
        for q, d, s in zip(
            self.qids.tolist(), self.docids.tolist(), self.scores.tolist(), strict=True
        ):
            entry = out.setdefault(q, ([], []))
            entry[0].append(d)
            entry[1].append(s)
        return {
            q: (docs, np.asarray(scores, dtype=np.float64)) for q, (docs, scores) in out.items()
        }


def trec_eval_layout(docids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Positions that lay ``docids`` out in descending order.

    trec_eval breaks score ties by docid descending, so documents laid out this way and
    ranked by score with stable ties (``ties="stable"``: equal scores keep their order)
    are in trec_eval's order. Evaluation, fusion and writing runs all use it.

    Example:
        >>> trec_eval_layout(["d1", "d3", "d2"]).tolist()
        [1, 2, 0]
    """
    keys = np.asarray(docids).astype(np.str_)
    return np.argsort(keys, kind="stable")[::-1].astype(np.int64)


def trec_eval_order(docids: npt.ArrayLike, scores: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Positions of the documents in trec_eval's ranking: score descending, ties by docid
    descending (:func:`trec_eval_layout`, then a stable sort by score)."""
    layout = trec_eval_layout(docids)
    s = np.asarray(scores, dtype=np.float64)[layout]
    return layout[np.argsort(-s, kind="stable")]


def read_trec_run(path: PathLike) -> TrecRun:
    """Read a TREC run file (plain or compressed): ``qid Q0 docid rank score tag`` per
    line; blank lines and ``#`` comments are skipped.

    Raises:
        ParseError: a line without 6 columns, a rank that is not an integer, a score
            that is not a finite number, a document listed twice for a query (naming the
            file and the line).
        DataFormatError: a file without any run line (an empty run would otherwise
            evaluate to 0 without a word), or a truncated compressed file.
    """
    qids, docids, scores, ranks = [], [], [], []
    tags: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for number, text in text_lines(path):
        parts = text.split()
        if len(parts) != 6:
            raise ParseError(
                str(path),
                number,
                f"expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}",
                text,
            )
        q, _, d, rank, score, tag = parts
        try:
            s = float(score)
            r = int(rank)
        except ValueError:
            raise ParseError(
                str(path), number, "rank must be an integer and score a number", text
            ) from None
        if not np.isfinite(s):
            raise ParseError(str(path), number, f"score {score!r} is not finite", text)
        if (q, d) in seen:
            raise ParseError(
                str(path), number, f"document {d!r} appears twice for query {q!r}", text
            )
        seen.add((q, d))
        qids.append(q)
        docids.append(d)
        scores.append(s)
        ranks.append(r)
        tags.add(tag)
    if not qids:
        raise DataFormatError(f"{path}: the run file holds no run line")
    return TrecRun(
        qids=np.array(qids, dtype=np.str_),
        docids=np.array(docids, dtype=np.str_),
        scores=np.array(scores, dtype=np.float64),
        ranks=np.array(ranks, dtype=np.int64),
        tag=sorted(tags)[0] if tags else Path(path).stem,
    )


def trec_run_lines(run: TrecRun, *, tag: str | None = None) -> Iterator[str]:
    """The lines of a run file: each query's documents in trec_eval's order
    (:func:`trec_eval_order`), ranks renumbered from 1."""
    name = tag or run.tag
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"run tag {name!r} must be non-empty and without whitespace")
    for q, (docs, scores) in run.by_query().items():
        for rank, i in enumerate(trec_eval_order(docs, scores).tolist(), start=1):
            yield f"{q} Q0 {docs[i]} {rank} {float(scores[i])!r} {name}\n"


def write_trec_run(run: TrecRun, path: PathLike, *, tag: str | None = None) -> None:
    """Write a run file (plain or compressed by suffix), as :func:`trec_run_lines`."""
    lines = trec_run_lines(run, tag=tag)
    with open_binary_write(path) as f:
        for line in lines:
            f.write(line.encode())


def read_qrels(path: PathLike) -> Qrels:
    """Read TREC qrels: ``qid iteration docid relevance`` per line (plain or compressed).

    Raises:
        ParseError: a line without 4 columns, a relevance that is not a finite number,
            a document judged twice for a query (naming the file and the line).
        DataFormatError: a file without any judgement.
    """
    qrels: Qrels = {}
    for number, text in text_lines(path):
        parts = text.split()
        if len(parts) != 4:
            raise ParseError(
                str(path),
                number,
                f"expected 4 columns 'qid iteration docid relevance', got {len(parts)}",
                text,
            )
        q, _, d, rel = parts
        try:
            value = float(rel)
        except ValueError:
            raise ParseError(
                str(path), number, f"relevance {rel!r} is not a number", text
            ) from None
        if not np.isfinite(value):
            raise ParseError(str(path), number, f"relevance {rel!r} is not finite", text)
        docs = qrels.setdefault(q, {})
        if d in docs:
            raise ParseError(
                str(path), number, f"document {d!r} judged twice for query {q!r}", text
            )
        docs[d] = value
    if not qrels:
        raise DataFormatError(f"{path}: the qrels file holds no judgement")
    return qrels


def write_qrels(qrels: Qrels, path: PathLike) -> None:
    """Write qrels: ``qid 0 docid relevance`` per line."""
    with open_binary_write(path) as f:
        for q, docs in qrels.items():
            for d, rel in docs.items():
                value = int(rel) if float(rel).is_integer() else rel
                f.write(f"{q} 0 {d} {value}\n".encode())


def run_from_scores(data: RankingData, scores: npt.ArrayLike, *, tag: str = "rankwise") -> TrecRun:
    """A run from one score per document of ``data`` (docids from the data, else ``D<i>``);
    ranks in trec_eval's order."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size != data.num_documents:
        raise ValueError(f"got {s.size} scores for {data.num_documents} documents")
    qids = np.repeat(data.qids.astype(str), data.list_lengths())
    if data.docids is not None:
        docids = data.docids.astype(str)
    else:
        docids = np.char.add("D", np.arange(data.num_documents).astype(str))
    ranks = np.zeros(data.num_documents, dtype=np.int64)
    for q in range(data.num_queries):
        lo, hi = int(data.query_offsets[q]), int(data.query_offsets[q + 1])
        ranks[lo + trec_eval_order(docids[lo:hi], s[lo:hi])] = np.arange(1, hi - lo + 1)
    return TrecRun(qids=qids, docids=docids, scores=s, ranks=ranks, tag=tag)


def qrels_from_data(data: RankingData) -> Qrels:
    """Qrels holding every document of ``data`` with its label."""
    if data.docids is None:
        docids = np.char.add("D", np.arange(data.num_documents).astype(str))
    else:
        docids = data.docids.astype(str)
    qrels: Qrels = {}
    for q in range(data.num_queries):
        lo, hi = int(data.query_offsets[q]), int(data.query_offsets[q + 1])
        qrels[str(data.qids[q])] = dict(
            zip(docids[lo:hi].tolist(), data.labels[lo:hi].astype(float).tolist(), strict=True)
        )
    return qrels
