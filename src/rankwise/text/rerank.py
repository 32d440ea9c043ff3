"""Reranking first-stage candidates with a text model, and feedback in vector space.

- :func:`rerank`: score every candidate of every query with a text ranker
  (:mod:`rankwise.text.models`) in batches, in eval mode, and return the reranked run.
- :func:`feedback_queries`: pseudo-relevance feedback in vector space (Rocchio 1971 on
  dense vectors; the pseudo-query of E²Rank, Alibaba-NLP/E2Rank, built from vectors
  rather than text): ``q' = normalise(q + beta * sum_i w_i d_i)`` over the top ``k``
  passages of a ranking, ``w`` uniform or a softmax of their scores.
- :func:`vector_scores`: the dot product of query vectors with each candidate's cached
  vector, as a run (the cheapest reranker: no transformer pass over passages at all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from rankwise.runs.trec import TrecRun
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.lists import TextListCollator, rerank_lists
from rankwise.text.models import TextRanker


def _run(rows: list[tuple[str, list[str], np.ndarray]], tag: str) -> TrecRun:
    qids, docids, scores, ranks = [], [], [], []
    for q, docs, s in rows:
        order = np.lexsort((np.arange(len(docs)), -s))  # score desc, candidate order on ties
        qids += [q] * len(docs)
        docids += [docs[i] for i in order]
        scores += s[order].astype(np.float64).tolist()
        ranks += list(range(1, len(docs) + 1))
    return TrecRun(
        np.asarray(qids, dtype=np.str_),
        np.asarray(docids, dtype=np.str_),
        np.asarray(scores, dtype=np.float64),
        np.asarray(ranks, dtype=np.int64),
        tag,
    )


@torch.no_grad()
def rerank(
    model: TextRanker,
    queries: Mapping[str, str],
    candidates: Mapping[str, Sequence[str]],
    documents: Mapping[str, str],
    *,
    store: EmbeddingStore | None = None,
    first_stage: Mapping[str, Mapping[str, float]] | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    tag: str = "rerank",
) -> TrecRun:
    """The candidates of each query ranked by ``model`` (``store``: cached passage
    vectors for bi-encoders and list rerankers; ``first_stage``: qid -> {docid: score},
    a list reranker's input); ties keep the candidate order."""
    lists = [item for item in rerank_lists(queries, candidates, None, first_stage) if item.docids]
    collate = TextListCollator(documents, store)
    was_training = model.training
    model.eval()
    rows = []
    try:
        for lo in range(0, len(lists), batch_size):
            batch = collate(lists[lo : lo + batch_size])
            scores = model.score_batch(batch.to(device)).float().cpu().numpy()
            for i, q in enumerate(batch.qids):
                n = int(batch.mask[i].sum())
                rows.append((q, batch.docids[i][:n], scores[i, :n]))
    finally:
        model.train(was_training)
    return _run(rows, tag)


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest of one query's scores in a run: descending score,
    ties in the run's order.

    Example:
        >>> top_positions(np.array([1.0, 3.0, 3.0]), 2).tolist()
        [1, 2]
    """
    return np.lexsort((np.arange(len(scores)), -scores))[:k]


def feedback_queries(
    query_vectors: Tensor,
    qids: Sequence[str],
    ranking: TrecRun,
    store: EmbeddingStore,
    *,
    k: int = 5,
    beta: float = 1.0,
    weighting: Literal["uniform", "softmax"] = "uniform",
) -> Tensor:
    """Feedback query vectors ``[Q, D]`` (module docstring) from the top ``k`` passages
    of each query in ``ranking`` (a query absent from it keeps its vector).

    Example:
        >>> store = EmbeddingStore(["a", "b"], np.eye(2, dtype=np.float32))
        >>> run = TrecRun(np.array(["q"]), np.array(["b"]), np.array([1.0]), np.array([1]))
        >>> feedback_queries(torch.tensor([[1.0, 0.0]]), ["q"], run, store, k=1).round(decimals=3)
        tensor([[0.7070, 0.7070]])
    """
    if k < 1 or beta < 0:
        raise ValueError(f"feedback needs k >= 1 and beta >= 0, got k={k}, beta={beta}")
    if weighting not in ("uniform", "softmax"):
        raise ValueError(f"weighting must be 'uniform' or 'softmax', got {weighting!r}")
    by_query = ranking.by_query()
    out = query_vectors.clone().float()
    for i, q in enumerate(qids):
        if q not in by_query:
            continue
        docs, scores = by_query[q]
        top = top_positions(scores, k)
        vectors = store.lookup([docs[j] for j in top])
        if weighting == "softmax":
            s = torch.from_numpy(scores[top].astype(np.float32))
            w = torch.softmax(s - s.max(), 0)
        else:
            w = torch.full((len(top),), 1.0 / len(top))
        out[i] = out[i] + beta * (w.unsqueeze(1) * vectors).sum(0)
    return torch.nn.functional.normalize(out, dim=-1)


def vector_scores(
    query_vectors: Tensor,
    qids: Sequence[str],
    candidates: Mapping[str, Sequence[str]],
    store: EmbeddingStore,
    *,
    tag: str = "dense",
) -> TrecRun:
    """Each query's candidates scored by the dot product of its vector with theirs."""
    rows = []
    for i, q in enumerate(qids):
        docs = list(candidates.get(q, []))
        if not docs:
            continue
        scores = (store.lookup(docs) @ query_vectors[i].float()).numpy()
        rows.append((q, docs, scores))
    return _run(rows, tag)
