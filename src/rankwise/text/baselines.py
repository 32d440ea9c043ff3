"""The baselines a text pipeline is measured against, cross-validated on the same folds.

:func:`baseline_runs` returns one TREC run per system over every judged query:

- ``bm25``: BM25 (:class:`~rankwise.text.bm25.BM25Index`) top-100, or the collection's
  given first stage;
- ``dense rerank``: the base encoder's cosine over BM25's top-100 (no training);
- ``dense``: the base encoder's exact top-100 over the collection (not for a given
  first stage, whose passages are not a collection);
- ``rrf``: reciprocal rank fusion (k = 60) of BM25 and dense (or dense rerank);
- ``union``: BM25's and dense's top-100 together, each candidate scored by the mean of
  its z-normalised BM25 and cosine scores (equal weights, nothing tuned);
- ``interpolation``: BM25 and cosine z-scores over the candidates, the BM25 weight tuned
  per fold on the other folds' queries (5-fold: the only tuned baseline).

:func:`ndcg_table` evaluates runs with trec_eval's ``ndcg_cut.10``; :func:`compare_systems`
is the whole comparison (baselines, the pipeline cross-validated and zero-shot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from rankwise.data._io import PathLike
from rankwise.runs.fusion import fuse_runs, tune_run_weights
from rankwise.runs.trec import TrecRun
from rankwise.text.bm25 import BM25Index
from rankwise.text.collection import TextCollection
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.encoders import TextEncoder
from rankwise.text.lists import candidate_lists
from rankwise.text.pipeline import (
    TREC_NDCG10,
    PipelineSettings,
    TextPipeline,
    cross_validate,
    evaluate_ndcg10,
)
from rankwise.text.rerank import vector_scores


def _concat(parts: Sequence[TrecRun], tag: str) -> TrecRun:
    return TrecRun(
        np.concatenate([p.qids for p in parts]),
        np.concatenate([p.docids for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.ranks for p in parts]),
        tag,
    )


def baseline_runs(
    collection: TextCollection,
    folds: Sequence[Sequence[str]],
    store: EmbeddingStore,
    encoder: TextEncoder,
    *,
    given: str | None = None,
    depth: int = 100,
) -> dict[str, TrecRun]:
    """The baselines of the module docstring over the folds' queries."""
    qids = [q for fold in folds for q in fold]
    queries = {q: collection.queries[q] for q in qids}
    index = BM25Index.build(collection.documents)
    vectors = encoder.encode([queries[q] for q in qids], batch_size=64)
    if given is not None:
        bm25 = collection.runs[given].select(qids)
        lexical = bm25
    else:
        bm25 = index.search(queries, k=depth)
    bm25_cands = candidate_lists([bm25], qids, depth=depth)
    runs: dict[str, TrecRun] = {"bm25": bm25}
    runs["dense rerank"] = vector_scores(vectors, qids, bm25_cands, store, tag="dense rerank")
    if given is None:
        rows, scores = store.search(vectors, depth)
        ids = np.asarray(store.ids, dtype=np.str_)
        runs["dense"] = TrecRun(
            np.repeat(np.asarray(qids, dtype=np.str_), rows.shape[1]),
            ids[rows.numpy().reshape(-1)],
            scores.numpy().reshape(-1).astype(np.float64),
            np.tile(np.arange(1, rows.shape[1] + 1), len(qids)),
            "dense",
        )
        union = candidate_lists([bm25, runs["dense"]], qids, depth=depth)
        position = {d: i for i, d in enumerate(index.docids)}
        q_col, d_col, s_col = [], [], []
        for q in qids:
            all_scores = index.scores(queries[q])
            q_col += [q] * len(union[q])
            d_col += union[q]
            s_col += [float(all_scores[position[d]]) for d in union[q]]
        lexical = TrecRun(
            np.asarray(q_col, dtype=np.str_),
            np.asarray(d_col, dtype=np.str_),
            np.asarray(s_col, dtype=np.float64),
            np.zeros(len(q_col), dtype=np.int64),
            "bm25",
        )
        runs["rrf"] = fuse_runs([bm25, runs["dense"]], method="rrf", k=60.0, tag="rrf")
        dense_union = vector_scores(vectors, qids, union, store)
        runs["union"] = fuse_runs(
            [lexical, dense_union],
            method="weighted_sum",
            normalization="z_score",
            weights=[0.5, 0.5],
            tag="union",
        )
        cosine = dense_union
    else:
        runs["rrf"] = fuse_runs([bm25, runs["dense rerank"]], method="rrf", k=60.0, tag="rrf")
        cosine = runs["dense rerank"]
    parts = []
    for f, test in enumerate(folds):
        rest = [q for g, fold in enumerate(folds) if g != f for q in fold]
        judged = {q: collection.qrels[q] for q in rest if q in collection.qrels}
        tuned = tune_run_weights(
            [lexical.select(rest), cosine.select(rest)],
            judged,
            normalization="z_score",
            metric=TREC_NDCG10,
            step=0.05,
        )
        parts.append(
            fuse_runs(
                [lexical.select(test), cosine.select(test)],
                method="weighted_sum",
                normalization="z_score",
                weights=list(tuned.weights),
                tag="interpolation",
            )
        )
    runs["interpolation"] = _concat(parts, "interpolation")
    return runs


def ndcg_table(runs: Mapping[str, TrecRun], collection: TextCollection) -> dict[str, float]:
    """trec_eval ``ndcg_cut.10`` of each run."""
    return {name: evaluate_ndcg10(run, collection.qrels) for name, run in runs.items()}


def compare_systems(
    collection: TextCollection,
    folds: Sequence[Sequence[str]],
    *,
    given: str | None = None,
    settings: PipelineSettings | None = None,
    cache_dir: PathLike | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """NDCG@10 (trec_eval ``ndcg_cut.10``) of the baselines and of rankwise's pipeline,
    5-fold cross-validated on ``folds`` (the pipeline chooses on held-out folds only),
    and of the pipeline zero-shot (:data:`~rankwise.text.pipeline.ZERO_SHOT`)."""
    s = settings or PipelineSettings(candidates="given" if given else "union")
    run, _ = cross_validate(
        collection, folds, s, given=given, cache_dir=cache_dir, progress=progress, log=log
    )
    table = {"rankwise pipeline (5-fold CV)": evaluate_ndcg10(run, collection.qrels)}
    pipeline = TextPipeline(collection.documents, s, cache_dir=cache_dir, progress=progress)
    pipeline.zero_shot()
    qids = [q for fold in folds for q in fold]
    given_run = collection.runs[given] if given else None
    zero = pipeline.run(collection.subset(qids).queries, given=given_run)
    table["rankwise pipeline, zero-shot"] = evaluate_ndcg10(zero, collection.qrels)
    runs = baseline_runs(collection, folds, pipeline.store, pipeline.model.encoder, given=given)
    return {**ndcg_table(runs, collection), **table}
