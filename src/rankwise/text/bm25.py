"""BM25 first stage (Robertson & Zaragoza 2009) through ``bm25s``, returning TREC runs.

Text is lower-cased, split into word tokens of two or more characters, stop words
removed (``stopwords="en"``: bm25s' English list; ``None`` keeps every token) and
stemmed with the Snowball stemmer of ``stemmer`` (``PyStemmer``; ``None`` does not
stem). ``method`` is a bm25s variant (``"lucene"`` — Lucene's BM25, the default —
``"robertson"``, ``"atire"``, ``"bm25l"``, ``"bm25+"``) with parameters ``k1``, ``b``
and, for BM25L/BM25+, ``delta``. A document that shares no term with the query scores
0 and is not retrieved (as in Lucene or Anserini), so a run can hold fewer than ``k``
documents for a query.

An index saves to a folder (bm25s' arrays plus ``rankwise-bm25.json`` with the
parameters and docids) and loads back memory-mapped.

Needs the ``text`` extra (``pip install 'rankwise[text]'``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rankwise._optional import import_optional
from rankwise.data._io import PathLike
from rankwise.errors import DataFormatError
from rankwise.runs.trec import TrecRun

METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
_META = "rankwise-bm25.json"


def _bm25s() -> Any:
    return import_optional("bm25s", "text")


class BM25Index:
    """A BM25 index over a collection's documents (module docstring).

    Example:
        >>> index = BM25Index.build({"d1": "cats sit on mats", "d2": "dogs bark"})
        >>> run = index.search({"q1": "a cat"}, k=10)
        >>> run.docids.tolist(), run.ranks.tolist()
        (['d1'], [1])
    """

    def __init__(
        self,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        delta: float = 0.5,
        stemmer: str | None = "english",
        stopwords: str | None = "en",
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"BM25 method must be one of {METHODS}, got {method!r}")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.params: dict[str, Any] = {
            "k1": float(k1),
            "b": float(b),
            "method": method,
            "delta": float(delta),
            "stemmer": stemmer,
            "stopwords": stopwords,
        }
        self.docids: list[str] = []
        self._retriever: Any = None
        self._stemmer: Any = None
        if stemmer is not None:
            Stemmer = import_optional("Stemmer", "text", "PyStemmer")
            try:
                self._stemmer = Stemmer.Stemmer(stemmer)
            except KeyError:
                raise ValueError(
                    f"unknown stemmer {stemmer!r}; known: {', '.join(Stemmer.algorithms())}"
                ) from None

    # ------------------------------------------------------------------ tokens
    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """The index's tokens of each text (lower-cased, stop words out, stemmed)."""
        tokens: list[list[str]] = _bm25s().tokenize(
            list(texts),
            stopwords=self.params["stopwords"] or [],
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )
        return tokens

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, documents: Mapping[str, str], **params: Any) -> BM25Index:
        """Index ``documents`` (docid -> text) with the parameters of :class:`BM25Index`."""
        index = cls(**params)
        if not documents:
            raise ValueError("BM25Index.build: no documents")
        bm25s = _bm25s()
        p = index.params
        retriever = bm25s.BM25(k1=p["k1"], b=p["b"], method=p["method"], delta=p["delta"])
        retriever.index(index.tokenize(list(documents.values())), show_progress=False)
        index._retriever = retriever
        index.docids = list(documents)
        return index

    def _ready(self) -> Any:
        if self._retriever is None:
            raise RuntimeError("BM25Index: build or load the index first")
        return self._retriever

    # ------------------------------------------------------------------ search
    def search(self, queries: Mapping[str, str], *, k: int = 100, tag: str = "bm25") -> TrecRun:
        """The top ``k`` documents of each query with a positive score, as a run."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        retriever = self._ready()
        qids = list(queries)
        depth = min(k, len(self.docids))
        tokens = self.tokenize([queries[q] for q in qids])
        qcol: list[str] = []
        dcol: list[str] = []
        scol: list[float] = []
        rcol: list[int] = []
        if qids:
            found, scores = retriever.retrieve(tokens, k=depth, show_progress=False)
            ids = np.asarray(self.docids, dtype=np.str_)
            for row, q in enumerate(qids):
                keep = scores[row] > 0
                docs = ids[found[row][keep]]
                qcol += [q] * docs.size
                dcol += docs.tolist()
                scol += scores[row][keep].astype(np.float64).tolist()
                rcol += list(range(1, docs.size + 1))
        return TrecRun(
            np.asarray(qcol, dtype=np.str_),
            np.asarray(dcol, dtype=np.str_),
            np.asarray(scol, dtype=np.float64),
            np.asarray(rcol, dtype=np.int64),
            tag,
        )

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """The BM25 score of every indexed document (in ``docids`` order) for
        ``query``: for scoring candidates that another first stage found."""
        retriever = self._ready()
        return np.asarray(retriever.get_scores(self.tokenize([query])[0]), dtype=np.float32)

    # ------------------------------------------------------------------ files
    def save(self, folder: PathLike) -> Path:
        """Write the index into ``folder`` (created)."""
        retriever = self._ready()
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        retriever.save(str(root), show_progress=False)
        meta = {"format": 1, "params": self.params, "docids": self.docids}
        (root / _META).write_text(json.dumps(meta), encoding="utf-8")
        return root

    @classmethod
    def load(cls, folder: PathLike, *, mmap: bool = True) -> BM25Index:
        """Read an index written by :meth:`save` (memory-mapped by default)."""
        root = Path(folder)
        meta_path = root / _META
        if not meta_path.is_file():
            raise DataFormatError(f"{root} is not a rankwise BM25 index (no {_META})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != 1:
            raise DataFormatError(f"{root}: BM25 index format {meta.get('format')!r} is not 1")
        index = cls(**meta["params"])
        index._retriever = _bm25s().BM25.load(str(root), mmap=mmap, show_progress=False)
        index.docids = list(meta["docids"])
        return index
