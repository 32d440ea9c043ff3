"""Lists of candidate passages per query, for training and reranking text models.

- :class:`TextListBatch`: a batch of queries with padded candidate lists: texts, docids,
  ``labels``/``mask`` ``[B, L]``, optional per-list ``weights`` ``[B]`` (a curriculum),
  ``teacher`` scores ``[B, L]`` (distillation) and ``doc_vectors`` ``[B, L, D]``
  (cached passage vectors). Every text model scores one: ``model.score_batch(batch)``
  returns ``[B, L]`` scores (padding positions are masked, their value is irrelevant).
- :func:`candidate_lists`: each query's candidates from one or more first-stage runs
  (their union, first stage first), to depth ``depth``.
- :class:`TrainingLists`: a dataset of sampled training lists. Per query and epoch, up to
  ``positives`` relevant candidates and ``list_size - positives`` negatives drawn from
  the union of several first stages ("Towards Robust Ranker for Text Retrieval": negatives
  from BM25 *and* a dense retriever), seeded by ``(seed, epoch, query)`` so that epochs and
  resumed runs see the same lists. Relevant documents a first stage missed are added
  (``add_unretrieved``). Queries without a relevant document cannot teach a list loss
  anything: they are left out and counted in ``TrainingLists.skipped``.
- :class:`Curriculum`: MacAvaney et al. 2020, "Training Curricula for Open Domain Answer
  Re-Ranking": difficulty from the first stage's normalised score ``D`` (high for
  documents it ranks high); a list with positive ``p`` and negatives ``n_i`` weighs
  ``w = min_i (D(p) - D(n_i) + 1) / 2`` (easy lists, whose positive the first stage
  already puts above every negative, weigh most), annealed to uniform:
  ``w_e = w (1 - t) + t`` with ``t = min(1, epoch / epochs)``. With several positives,
  ``w`` is their mean.
- :func:`rerank_lists`: every candidate of every query, unsampled, for scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from rankwise.runs.trec import Qrels, TrecRun

LABEL_PAD = 0.0


@dataclass
class TextList:
    """One query's candidates (unpadded)."""

    qid: str
    query: str
    docids: list[str]
    labels: list[float]
    weight: float = 1.0
    teacher: list[float] | None = None
    first_stage: list[float] | None = None


@dataclass
class TextListBatch:
    """A padded batch of candidate lists (module docstring)."""

    qids: list[str]
    queries: list[str]
    docids: list[list[str]]  # [B][L], "" at padding
    documents: list[list[str]]  # [B][L], "" at padding
    labels: Tensor  # [B, L]
    mask: Tensor  # [B, L] bool
    weights: Tensor | None = None  # [B]
    teacher: Tensor | None = None  # [B, L]
    doc_vectors: Tensor | None = None  # [B, L, D]
    first_stage: Tensor | None = None  # [B, L] first-stage scores (list rerankers' input)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Lists in the batch."""
        return len(self.qids)

    @property
    def num_documents(self) -> int:
        """Real (unpadded) candidates in the batch."""
        return int(self.mask.sum())

    def real_pairs(self) -> tuple[list[str], list[str], Tensor]:
        """``(query texts, passage texts, flat positions)`` of the real candidates, row
        by row: what a model encodes, and where its outputs go in ``[B * L]``."""
        rows, cols = torch.nonzero(self.mask, as_tuple=True)
        queries = [self.queries[r] for r in rows.tolist()]
        passages = [self.documents[r][c] for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
        return queries, passages, rows * self.mask.shape[1] + cols

    def to(self, device: torch.device | str) -> TextListBatch:
        """The batch with its tensors on ``device`` (texts stay)."""

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return replace(
            self,
            labels=self.labels.to(device),
            mask=self.mask.to(device),
            weights=move(self.weights),
            teacher=move(self.teacher),
            doc_vectors=move(self.doc_vectors),
            first_stage=move(self.first_stage),
        )


class TextListCollator:
    """Pads :class:`TextList` items into a :class:`TextListBatch`, looking texts up in
    ``documents`` and, when given, passage vectors in ``store`` (an
    :class:`~rankwise.text.embeddings.EmbeddingStore`)."""

    def __init__(self, documents: Mapping[str, str], store: Any = None) -> None:
        self.documents = documents
        self.store = store

    def __call__(self, items: Sequence[TextList]) -> TextListBatch:
        if not items:
            raise ValueError("TextListCollator: an empty batch")
        width = max(len(i.docids) for i in items) or 1
        b = len(items)
        labels = torch.full((b, width), LABEL_PAD)
        mask = torch.zeros(b, width, dtype=torch.bool)
        docids: list[list[str]] = []
        texts: list[list[str]] = []
        for row, item in enumerate(items):
            n = len(item.docids)
            labels[row, :n] = torch.tensor(item.labels, dtype=torch.float32)
            mask[row, :n] = True
            pad = [""] * (width - n)
            docids.append(list(item.docids) + pad)
            try:
                texts.append([self.documents[d] for d in item.docids] + pad)
            except KeyError as exc:
                raise KeyError(f"query {item.qid}: document {exc.args[0]!r} has no text") from None
        teacher = None
        if any(i.teacher is not None for i in items):
            teacher = torch.zeros(b, width)
            for row, item in enumerate(items):
                if item.teacher is None:
                    raise ValueError(
                        f"query {item.qid}: teacher scores missing in a distillation batch"
                    )
                teacher[row, : len(item.teacher)] = torch.tensor(item.teacher, dtype=torch.float32)
        vectors = None
        if self.store is not None:
            vectors = torch.zeros(b, width, self.store.dim)
            for row, item in enumerate(items):
                if item.docids:
                    vectors[row, : len(item.docids)] = self.store.lookup(item.docids)
        first = None
        if any(i.first_stage is not None for i in items):
            first = torch.zeros(b, width)
            for row, item in enumerate(items):
                if item.first_stage is not None:
                    first[row, : len(item.first_stage)] = torch.tensor(item.first_stage)
        weights = torch.tensor([i.weight for i in items], dtype=torch.float32)
        return TextListBatch(
            qids=[i.qid for i in items],
            queries=[i.query for i in items],
            docids=docids,
            documents=texts,
            labels=labels,
            mask=mask,
            weights=weights,
            teacher=teacher,
            doc_vectors=vectors,
            first_stage=first,
        )


def candidate_lists(
    runs: Sequence[TrecRun], qids: Sequence[str], *, depth: int = 100
) -> dict[str, list[str]]:
    """Each query's candidates: the union of every run's top ``depth``, in the order of
    the first run, then new documents of the next runs (ranks from each run's scores,
    trec_eval's order)."""
    out: dict[str, list[str]] = {q: [] for q in qids}
    seen: dict[str, set[str]] = {q: set() for q in qids}
    for run in runs:
        for q, (docs, scores) in run.by_query().items():
            if q not in out:
                continue
            order = np.lexsort((-np.arange(len(docs)), -scores))  # score desc, file order
            for i in order[:depth].tolist():
                if docs[i] not in seen[q]:
                    seen[q].add(docs[i])
                    out[q].append(docs[i])
    return out


def first_stage_scores(run: TrecRun) -> dict[str, dict[str, float]]:
    """``qid -> {docid: score}`` of a run."""
    return {
        q: dict(zip(docs, scores.tolist(), strict=True))
        for q, (docs, scores) in run.by_query().items()
    }


@dataclass(frozen=True)
class Curriculum:
    """Difficulty weights annealed to uniform over ``epochs`` epochs (module docstring);
    ``difficulty`` ``qid -> {docid: D}`` in [0, 1] (see :func:`difficulty_from_run`)."""

    difficulty: Mapping[str, Mapping[str, float]]
    epochs: int = 2

    def weight(
        self, qid: str, positives: Sequence[str], negatives: Sequence[str], epoch: int
    ) -> float:
        """The annealed weight of one list at ``epoch`` (0-based)."""
        d = self.difficulty.get(qid, {})
        t = min(1.0, epoch / self.epochs) if self.epochs > 0 else 1.0
        if not positives or not negatives:
            return 1.0
        raw = float(
            np.mean(
                [
                    min((d.get(p, 0.0) - d.get(n, 0.0) + 1.0) / 2.0 for n in negatives)
                    for p in positives
                ]
            )
        )
        return raw * (1.0 - t) + t


def difficulty_from_run(run: TrecRun) -> dict[str, dict[str, float]]:
    """Per query, each retrieved document's min-max normalised first-stage score (1: the
    top document; documents the run did not retrieve count as 0)."""
    out: dict[str, dict[str, float]] = {}
    for q, (docs, scores) in run.by_query().items():
        lo, hi = float(scores.min()), float(scores.max())
        span = hi - lo
        out[q] = {
            d: (float(s) - lo) / span if span > 0 else 1.0
            for d, s in zip(docs, scores, strict=True)
        }
    return out


class TrainingLists(Dataset[TextList]):
    """Sampled training lists (module docstring).

    Args:
        queries: qid -> query text (the training queries).
        qrels: judgements; a candidate is relevant when its label is > 0.
        candidates: qid -> candidate docids (:func:`candidate_lists`).
        list_size: passages per list; None: every candidate (all relevant passages and
            every negative, no sampling).
        positives: relevant passages per list (at most; the rest are negatives).
        add_unretrieved: also draw relevant documents no first stage retrieved (those
            with a text in ``documents``, when given).
        documents: the collection's texts (which documents can be drawn at all).
        first_stage: qid -> {docid: score} of the first stage, given to list rerankers
            (a drawn document it did not retrieve gets the query's lowest score).
        curriculum: per-list weights (:class:`Curriculum`), else weight 1.
        teacher: qid -> {docid: score} for distillation; every sampled passage needs one.
        seed: with the epoch and the query, decides every draw.
    """

    def __init__(
        self,
        queries: Mapping[str, str],
        qrels: Qrels,
        candidates: Mapping[str, Sequence[str]],
        *,
        list_size: int | None = 16,
        positives: int = 1,
        add_unretrieved: bool = True,
        curriculum: Curriculum | None = None,
        teacher: Mapping[str, Mapping[str, float]] | None = None,
        documents: Mapping[str, str] | None = None,
        first_stage: Mapping[str, Mapping[str, float]] | None = None,
        seed: int = 0,
    ) -> None:
        if list_size is not None and list_size < 2:
            raise ValueError(f"list_size must be >= 2, got {list_size}")
        if list_size is not None and not 1 <= positives < list_size:
            raise ValueError(f"positives must be in 1..list_size-1, got {positives}")
        self.list_size, self.positives = list_size, positives
        self.curriculum, self.teacher, self.seed = curriculum, teacher, seed
        self.first_stage = first_stage
        self.epoch = 0
        self.items: list[tuple[str, str, list[str], list[str]]] = []
        self.skipped: list[str] = []
        self.qrels = qrels
        for q, text in queries.items():
            judged = qrels.get(q, {})
            cands = list(candidates.get(q, []))
            relevant = [d for d in cands if judged.get(d, 0) > 0]
            if add_unretrieved:
                retrieved = set(cands)
                relevant += [
                    d
                    for d, r in judged.items()
                    if r > 0 and d not in retrieved and (documents is None or d in documents)
                ]
            negatives = [d for d in cands if judged.get(d, 0) <= 0]
            if not relevant or not negatives:
                self.skipped.append(q)
                continue
            self.items.append((q, text, relevant, negatives))

    def set_epoch(self, epoch: int) -> None:
        """Draw the lists of ``epoch`` (0-based) from now on."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> TextList:
        q, text, relevant, negatives = self.items[index]
        if self.list_size is None:
            pos, neg = list(relevant), list(negatives)
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            pos = [relevant[i] for i in rng.permutation(len(relevant))[: self.positives]]
            take = min(self.list_size - len(pos), len(negatives))
            neg = [negatives[i] for i in rng.choice(len(negatives), size=take, replace=False)]
        docs = pos + neg
        judged = self.qrels.get(q, {})
        weight = 1.0 if self.curriculum is None else self.curriculum.weight(q, pos, neg, self.epoch)
        teacher = None
        if self.teacher is not None:
            scores = self.teacher.get(q, {})
            missing = [d for d in docs if d not in scores]
            if missing:
                raise KeyError(f"query {q}: no teacher score for {missing[:3]}")
            teacher = [float(scores[d]) for d in docs]
        labels = [max(float(judged.get(d, 0.0)), 0.0) for d in docs]
        first = None if self.first_stage is None else _first_stage(self.first_stage, q, docs)
        return TextList(q, text, docs, labels, weight, teacher, first)


def _first_stage(
    scores: Mapping[str, Mapping[str, float]], qid: str, docs: Sequence[str]
) -> list[float]:
    mine = scores.get(qid, {})
    floor = min(mine.values()) if mine else 0.0
    return [float(mine.get(d, floor)) for d in docs]


def rerank_lists(
    queries: Mapping[str, str],
    candidates: Mapping[str, Sequence[str]],
    qrels: Qrels | None = None,
    first_stage: Mapping[str, Mapping[str, float]] | None = None,
) -> list[TextList]:
    """Every candidate of every query (in candidate order), labelled from ``qrels`` when
    given, with ``first_stage`` scores when given: the lists a model scores to rerank."""
    judged = qrels or {}
    out = []
    for q in queries:
        docs = list(candidates.get(q, []))
        labels = [max(float(judged.get(q, {}).get(d, 0.0)), 0.0) for d in docs]
        first = None if first_stage is None else _first_stage(first_stage, q, docs)
        out.append(TextList(q, queries[q], docs, labels, first_stage=first))
    return out
