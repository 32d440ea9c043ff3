"""Text ranking: collections, first stages, encoders, rankers trained with rankwise's
list losses, and evaluation with trec_eval's conventions.

- :mod:`~rankwise.text.collection`: documents, topics and qrels from TREC, SMART
  (Cranfield), TSV, BEIR JSONL and first-stage JSON files; :func:`load_collection`;
- :mod:`~rankwise.text.folds`: fixed 5-fold query splits (stored for Cranfield, Vaswani,
  TREC DL 2019);
- :mod:`~rankwise.text.bm25`: BM25 through ``bm25s`` with Snowball stemming;
- :mod:`~rankwise.text.encoders`: local transformer encoders (all-MiniLM-L6-v2 by
  default), gradient caching;
- :mod:`~rankwise.text.embeddings`: memory-mapped passage vectors, exact dense search;
- :mod:`~rankwise.text.lists`: candidate lists, training lists with negatives from
  several first stages, curricula, teacher scores;
- :mod:`~rankwise.text.models`: bi-encoder, cross-encoder, list reranker, E²Rank
  pseudo-query bi-encoder (registry ``text_model``);
- :mod:`~rankwise.text.rerank`: reranking a run, vector feedback;
- :mod:`~rankwise.text.pipeline`: the cross-validated pipeline rankwise ships;
- :mod:`~rankwise.text.baselines`: BM25, cosine rerank, RRF, union, interpolation;
- :mod:`~rankwise.text.robustness`: query and document perturbations, the report.

Training goes through :class:`rankwise.train.Trainer` with
:class:`rankwise.train.tasks.TextRankingTask`, or a ``data.text`` config for
``rankwise train``. Needs the ``text`` extra (``pip install 'rankwise[text]'``).
"""

from rankwise.text.bm25 import BM25Index
from rankwise.text.collection import TextCollection, load_collection
from rankwise.text.embeddings import EmbeddingStore, dense_search
from rankwise.text.encoders import TextEncoder, cached_encode, default_model_path
from rankwise.text.folds import fold_split, load_folds, make_folds, stored_folds
from rankwise.text.lists import (
    Curriculum,
    TextListBatch,
    TextListCollator,
    TrainingLists,
    candidate_lists,
    rerank_lists,
)
from rankwise.text.models import (
    TEXT_MODELS,
    BiEncoder,
    CrossEncoder,
    ListReranker,
    PseudoQueryBiEncoder,
    TextRanker,
    build_text_model,
)
from rankwise.text.pipeline import PipelineSettings, TextPipeline, cross_validate
from rankwise.text.rerank import feedback_queries, rerank
from rankwise.text.robustness import robustness_report

__all__ = [
    "TEXT_MODELS",
    "BM25Index",
    "BiEncoder",
    "CrossEncoder",
    "Curriculum",
    "EmbeddingStore",
    "ListReranker",
    "PipelineSettings",
    "PseudoQueryBiEncoder",
    "TextCollection",
    "TextEncoder",
    "TextListBatch",
    "TextListCollator",
    "TextPipeline",
    "TextRanker",
    "TrainingLists",
    "build_text_model",
    "cached_encode",
    "candidate_lists",
    "cross_validate",
    "default_model_path",
    "dense_search",
    "feedback_queries",
    "fold_split",
    "load_collection",
    "load_folds",
    "make_folds",
    "rerank",
    "rerank_lists",
    "robustness_report",
    "stored_folds",
]
