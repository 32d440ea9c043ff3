"""Cached, memory-mapped document vectors and exact dense retrieval over them.

An :class:`EmbeddingStore` is a folder: ``vectors.npy`` (float32 ``[N, D]``, opened
memory-mapped), ``ids.json`` and ``meta.json``, which records the encoder's fingerprint
(a hash of its weights, pooling, normalisation and length limit) and a hash of the
texts. :meth:`EmbeddingStore.cached` reuses a store only when both match, so a changed
model or collection never serves stale vectors; vectors are written to a temporary
folder and renamed into place.

:meth:`EmbeddingStore.search` is exact top-k retrieval by dot product (cosine for
normalised vectors), computed over blocks of documents so that memory stays at
``queries x block`` scores whatever the collection's size; :func:`dense_search` turns
it into a TREC run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from rankwise._hashing import content_hash
from rankwise.data._io import PathLike
from rankwise.errors import DataFormatError
from rankwise.runs.trec import TrecRun
from rankwise.text.encoders import Precision, TextEncoder, resolve_precision

FORMAT = 1


def texts_hash(ids: Sequence[str], texts: Sequence[str]) -> str:
    """A hash of ``(id, text)`` pairs in order: what a store's vectors were made from."""
    blob = "\x1f".join(f"{i}\x1e{t}" for i, t in zip(ids, texts, strict=True)).encode()
    return content_hash(blob)


class EmbeddingStore:
    """Document vectors with their ids (module docstring)."""

    def __init__(
        self,
        ids: Sequence[str],
        vectors: npt.NDArray[np.float32],
        meta: Mapping[str, Any] | None = None,
        path: Path | None = None,
    ) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids for vectors of shape {vectors.shape}")
        self.ids = list(ids)
        self.vectors = vectors
        self.meta = dict(meta or {})
        self.path = path
        self.row = {d: i for i, d in enumerate(self.ids)}
        if len(self.row) != len(self.ids):
            raise ValueError("EmbeddingStore: a document id appears twice")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        """The vectors' dimension."""
        return int(self.vectors.shape[1])

    # ------------------------------------------------------------------ build / open
    @classmethod
    def build(
        cls,
        encoder: TextEncoder,
        documents: Mapping[str, str],
        path: PathLike | None = None,
        *,
        batch_size: int = 16,
        precision: Precision = "fp32",
        progress: bool = False,
    ) -> EmbeddingStore:
        """Encode ``documents`` (docid -> text); written to ``path`` when given.
        ``precision``: :meth:`TextEncoder.encode` (recorded: a store made in bf16 is not
        reused for fp32)."""
        ids = list(documents)
        texts = [documents[d] for d in ids]
        mode = resolve_precision(precision)
        vectors = encoder.encode(
            texts, batch_size=batch_size, precision=mode, progress=progress, description="passages"
        )
        meta = {
            "format": FORMAT,
            "encoder": {**encoder.fingerprint(), "precision": mode},
            "texts_xxh3_128": texts_hash(ids, texts),
            "count": len(ids),
        }
        array = vectors.numpy().astype(np.float32)
        if path is None:
            return cls(ids, array, meta)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            np.save(tmp / "vectors.npy", array)
            (tmp / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls.open(target)

    @classmethod
    def open(cls, path: PathLike) -> EmbeddingStore:
        """A store written by :meth:`build`, vectors memory-mapped read-only."""
        root = Path(path)
        if not (root / "meta.json").is_file():
            raise DataFormatError(f"{root} is not a rankwise embedding store (no meta.json)")
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise DataFormatError(f"{root}: embedding store format {meta.get('format')!r}")
        vectors = np.load(root / "vectors.npy", mmap_mode="r", allow_pickle=False)
        ids = json.loads((root / "ids.json").read_text(encoding="utf-8"))
        if vectors.shape[0] != len(ids) or len(ids) != meta.get("count"):
            raise DataFormatError(f"{root}: {len(ids)} ids for {vectors.shape[0]} vectors")
        return cls(ids, vectors, meta, root)

    @classmethod
    def cached(
        cls,
        encoder: TextEncoder,
        documents: Mapping[str, str],
        path: PathLike,
        *,
        batch_size: int = 16,
        precision: Precision = "fp32",
        progress: bool = False,
    ) -> EmbeddingStore:
        """The store at ``path`` if it was made by this encoder, in this precision, from
        these texts; else a new one built there."""
        root = Path(path)
        if (root / "meta.json").is_file():
            try:
                store = cls.open(root)
            except (DataFormatError, ValueError, OSError):
                store = None
            if store is not None and store.matches(encoder, documents, precision):
                return store
        return cls.build(
            encoder, documents, root, batch_size=batch_size, precision=precision, progress=progress
        )

    def matches(
        self, encoder: TextEncoder, documents: Mapping[str, str], precision: Precision = "fp32"
    ) -> bool:
        """Whether these vectors are ``encoder``'s, in ``precision``, of exactly
        ``documents``."""
        ids = list(documents)
        wanted = {**encoder.fingerprint(), "precision": resolve_precision(precision)}
        return bool(
            self.meta.get("encoder") == wanted
            and self.meta.get("texts_xxh3_128") == texts_hash(ids, [documents[d] for d in ids])
        )

    # ------------------------------------------------------------------ use
    def lookup(self, docids: Sequence[str]) -> Tensor:
        """The vectors of ``docids`` ``[len, D]`` (a copy; unknown ids are an error)."""
        try:
            rows = [self.row[d] for d in docids]
        except KeyError as exc:
            raise KeyError(f"document {exc.args[0]!r} is not in the embedding store") from None
        return torch.from_numpy(np.asarray(self.vectors[rows], dtype=np.float32))

    def search(self, queries: Tensor, k: int, *, block: int = 65536) -> tuple[Tensor, Tensor]:
        """Exact top-``k`` rows by dot product for each query vector ``[Q, D]``:
        ``(rows [Q, k], scores [Q, k])``, best first (ties: lower row first)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        q = queries.float()
        k = min(k, len(self))
        best_scores = torch.full((q.shape[0], 0), float("-inf"))
        best_rows = torch.zeros((q.shape[0], 0), dtype=torch.long)
        for lo in range(0, len(self), block):
            chunk = torch.from_numpy(np.array(self.vectors[lo : lo + block], dtype=np.float32))
            scores = q @ chunk.T
            rows = torch.arange(lo, lo + chunk.shape[0]).expand_as(scores)
            scores = torch.cat([best_scores, scores], 1)
            rows = torch.cat([best_rows, rows], 1)
            # stable: among equal scores the earlier (lower) row stays first
            order = torch.argsort(scores, dim=1, descending=True, stable=True)[:, :k]
            best_scores, best_rows = scores.gather(1, order), rows.gather(1, order)
        return best_rows, best_scores


def dense_search(
    encoder: TextEncoder,
    store: EmbeddingStore,
    queries: Mapping[str, str],
    *,
    k: int = 100,
    tag: str = "dense",
    batch_size: int = 16,
    precision: Precision = "fp32",
) -> TrecRun:
    """The top-``k`` documents of each query by the similarity of ``encoder``'s query
    vector to the store's document vectors, as a TREC run."""
    qids = list(queries)
    vectors = encoder.encode([queries[q] for q in qids], batch_size=batch_size, precision=precision)
    rows, scores = store.search(vectors, k)
    ids = np.asarray(store.ids, dtype=np.str_)
    depth = rows.shape[1]
    return TrecRun(
        np.repeat(np.asarray(qids, dtype=np.str_), depth),
        ids[rows.numpy().reshape(-1)],
        scores.numpy().reshape(-1).astype(np.float64),
        np.tile(np.arange(1, depth + 1, dtype=np.int64), len(qids)),
        tag,
    )
