"""rankwise's text ranking pipeline: BM25 + a bi-encoder whose query side is trained
with a list loss over cached passage vectors, vector feedback, and a hybrid tuned on
held-out queries.

For each query:

1. **Candidates**: the union of BM25's top ``depth`` and the dense retriever's top
   ``depth`` over the cached passage vectors (``candidates="union"``), or a given first
   stage's candidates (``"given"``, e.g. TREC DL's BM25 top-100).
2. **Query encoder**: all-MiniLM-L6-v2's query side fine-tuned on the training queries
   (``epochs`` > 0): every candidate list (all of its candidates, plus the relevant
   passages no first stage found) scored by cosine / temperature against the *cached*
   passage vectors, trained with a list loss (default ``softmax``; any of
   :mod:`rankwise.losses`). Passages are never re-encoded, so training costs one short
   query encoding per list and the cached collection stays valid.
3. **Feedback**: the query vector moves towards the top ``feedback_k`` passages of a
   first hybrid ranking (:func:`~rankwise.text.rerank.feedback_queries`, the vector form
   of E²Rank's pseudo-query), ``beta`` its weight.
4. **Hybrid**: BM25 and feedback-dense scores of every candidate, z-normalised per query
   and combined with :func:`rankwise.runs.fuse_runs` (weighted sum), the weight tuned by
   :func:`rankwise.runs.tune_run_weights` for NDCG@10 (trec_eval conventions).
5. **Pseudo-query** (E²Rank, Liu et al. 2025, with the bi-encoder): the query's text
   followed by the texts of the top ``pseudo_k`` passages of that hybrid ranking,
   encoded by the query encoder at passage length; the query vector becomes
   ``normalize(w * pseudo + (1 - w) * feedback vector)`` (``w = pseudo_weight``), the
   candidates are scored again and fused with BM25 at the same weight. Text feedback
   reads what vector feedback averages away (which terms the top passages share with
   the query): on TREC DL 2019 zero-shot it lifts NDCG@10 from 0.675 to 0.69
   (``benchmarks/README.md``).

What is chosen is chosen on **validation queries only** (held out from training):
whether fine-tuning helps at all (the zero-shot encoder competes), the feedback depth and
weight, the hybrid weight, and then, with those fixed, the pseudo-query's depth and
weight (one encoding of the tuning queries per setting). :func:`cross_validate` runs
the whole pipeline on stored folds: for test fold ``f``, train on three folds, choose on
the next one, evaluate on ``f``.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rankwise.data._io import PathLike
from rankwise.runs.evaluation import evaluate_run
from rankwise.runs.fusion import fuse_runs, tune_run_weights
from rankwise.runs.trec import Qrels, TrecRun
from rankwise.text.bm25 import BM25Index
from rankwise.text.collection import TextCollection
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.encoders import Precision
from rankwise.text.lists import TextListCollator, TrainingLists, candidate_lists
from rankwise.text.models import BiEncoder, pseudo_query_text
from rankwise.text.rerank import feedback_queries, top_positions, vector_scores

#: trec_eval's NDCG@10 (``ndcg_cut.10``: linear gain, ties by docid descending).
TREC_NDCG10 = "ndcg@10[gain=linear,ties=stable]"


@dataclass
class PipelineSettings:
    """The pipeline's settings (module docstring); the defaults are what rankwise ships."""

    model: str = "default"
    candidates: str = "union"  # "union" (BM25 + dense over the collection) or "given"
    depth: int = 100
    bm25: dict[str, Any] = field(default_factory=lambda: {"k1": 1.2, "b": 0.75})
    epochs: int = 10
    lr: float = 5e-5
    loss: str = "softmax"
    temperature: float = 0.05
    batch_size: int = 16
    query_max_length: int = 64
    feedback: list[tuple[int, float]] = field(
        default_factory=lambda: [(0, 0.0), (3, 0.5), (5, 1.0), (10, 1.0)]
    )
    # (passages, weight) of the pseudo-query step; (0, 0.0) = without it
    pseudo_query: list[tuple[int, float]] = field(
        default_factory=lambda: [(0, 0.0), (3, 0.5), (5, 0.5), (5, 0.75)]
    )
    weight_step: float = 0.05
    train_lists: str = "collection"  # "collection" (every passage, up to 100k) or "candidates"
    refit: bool = True
    seed: int = 0
    precision: Precision = "fp32"

    def __post_init__(self) -> None:
        if self.candidates not in ("union", "given"):
            raise ValueError(f"candidates must be 'union' or 'given', got {self.candidates!r}")
        if self.train_lists not in ("collection", "candidates"):
            raise ValueError(
                f"train_lists must be 'collection' or 'candidates', got {self.train_lists!r}"
            )
        self.feedback = [(int(k), float(b)) for k, b in self.feedback]
        self.pseudo_query = [(int(k), float(w)) for k, w in self.pseudo_query]
        for k, w in self.pseudo_query:
            if k < 0 or not 0.0 <= w <= 1.0:
                raise ValueError(
                    f"pseudo_query settings need passages >= 0 and a weight in [0, 1], "
                    f"got ({k}, {w})"
                )


@dataclass
class PipelineChoice:
    """What :meth:`TextPipeline.fit` chose on the validation queries."""

    fine_tuned: bool
    feedback_k: int
    feedback_beta: float
    bm25_weight: float
    valid_ndcg10: float
    pseudo_k: int = 0
    pseudo_weight: float = 0.0
    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def uses_pseudo_query(self) -> bool:
        """Whether the pseudo-query step runs (a depth and a weight above 0)."""
        return self.pseudo_k > 0 and self.pseudo_weight > 0


#: The choice of a pipeline that has seen no query of the collection (``zero_shot``):
#: the base encoder, feedback from the top 5 passages at weight 1, BM25 weight 0.1 (the
#: settings cross-validation chose most often on Cranfield and Vaswani), and a
#: pseudo-query of the top 5 passages at weight 0.75 (the best mean NDCG@10 over
#: Cranfield and Vaswani at those settings; TREC DL 2019 played no part).
ZERO_SHOT = {
    "fine_tuned": False,
    "feedback_k": 5,
    "feedback_beta": 1.0,
    "bm25_weight": 0.1,
    "pseudo_k": 5,
    "pseudo_weight": 0.75,
}


class TextPipeline:
    """The pipeline of the module docstring over one collection's documents.

    Args:
        documents: docid -> text.
        settings: :class:`PipelineSettings`.
        store: cached passage vectors of the base encoder (built when not given).
        cache_dir: where to keep the passage vectors (reused when they match).
        progress: progress bars and a line per step.
    """

    def __init__(
        self,
        documents: Mapping[str, str],
        settings: PipelineSettings | None = None,
        *,
        store: EmbeddingStore | None = None,
        cache_dir: PathLike | None = None,
        progress: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.documents = documents
        self.settings = settings or PipelineSettings()
        self.progress = progress
        self.log = log or (lambda message: None)
        s = self.settings
        torch.manual_seed(s.seed)
        self.model = BiEncoder(
            s.model,
            temperature=s.temperature,
            query_max_length=s.query_max_length,
            train_documents=False,
        )
        self.base_state = copy.deepcopy(self.model.state_dict())
        started = time.perf_counter()
        if store is None:
            if cache_dir is not None:
                store = EmbeddingStore.cached(
                    self.model.encoder,
                    documents,
                    cache_dir,
                    precision=s.precision,
                    progress=progress,
                )
            else:
                store = EmbeddingStore.build(
                    self.model.encoder,
                    documents,
                    precision=s.precision,
                    progress=progress,
                )
        self.store = store
        self.log(f"passage vectors: {len(store)} in {time.perf_counter() - started:.1f} s")
        self.bm25 = BM25Index.build(documents, **s.bm25)
        self.choice: PipelineChoice | None = None

    # ------------------------------------------------------------------ pieces
    def query_vectors(self, queries: Mapping[str, str]) -> torch.Tensor:
        """The current query encoder's vectors of ``queries`` (in their order)."""
        self.model.eval()
        texts = [queries[q] for q in queries]
        limit = self.model.encoder.max_length
        self.model.encoder.max_length = min(limit, self.settings.query_max_length)
        try:
            return self.model.encoder.encode(texts, batch_size=64)
        finally:
            self.model.encoder.max_length = limit

    def candidates(
        self, queries: Mapping[str, str], given: TrecRun | None = None
    ) -> dict[str, list[str]]:
        """Each query's candidates (module docstring, step 1)."""
        s = self.settings
        if s.candidates == "given":
            if given is None:
                raise ValueError("candidates='given' needs a first-stage run")
            return candidate_lists([given], list(queries), depth=s.depth)
        bm25 = self.bm25.search(queries, k=s.depth)
        dense = self._dense_run(self.query_vectors(queries), list(queries), s.depth)
        return candidate_lists([bm25, dense], list(queries), depth=s.depth)

    def _dense_run(self, vectors: torch.Tensor, qids: list[str], depth: int) -> TrecRun:
        rows, scores = self.store.search(vectors, depth)
        ids = np.asarray(self.store.ids, dtype=np.str_)
        d = rows.shape[1]
        return TrecRun(
            np.repeat(np.asarray(qids, dtype=np.str_), d),
            ids[rows.numpy().reshape(-1)],
            scores.numpy().reshape(-1).astype(np.float64),
            np.tile(np.arange(1, d + 1, dtype=np.int64), len(qids)),
            "dense",
        )

    def bm25_run(
        self, queries: Mapping[str, str], candidates: Mapping[str, Sequence[str]]
    ) -> TrecRun:
        """BM25 scores of every candidate (0 for a candidate without a query term)."""
        position = {d: i for i, d in enumerate(self.bm25.docids)}
        qid, doc, score = [], [], []
        for q in queries:
            docs = list(candidates.get(q, []))
            if not docs:
                continue
            all_scores = self.bm25.scores(queries[q])
            qid += [q] * len(docs)
            doc += docs
            score += [float(all_scores[position[d]]) for d in docs]
        return TrecRun(
            np.asarray(qid, dtype=np.str_),
            np.asarray(doc, dtype=np.str_),
            np.asarray(score, dtype=np.float64),
            np.zeros(len(qid), dtype=np.int64),
            "bm25",
        )

    def _hybrid_inputs(
        self,
        queries: Mapping[str, str],
        candidates: Mapping[str, Sequence[str]],
        k: int,
        beta: float,
        given: TrecRun | None = None,
    ) -> tuple[TrecRun, TrecRun, torch.Tensor]:
        """The lexical and the (feedback) dense run over the candidates, and the (feedback)
        query vectors: the lexical scores are the given first stage's when it is reranked
        (its BM25 saw the whole original collection, not only the candidate passages), else
        BM25's over the collection."""
        qids = list(queries)
        vectors = self.query_vectors(queries)
        if self.settings.candidates == "given" and given is not None:
            bm25 = given.select(qids)
        else:
            bm25 = self.bm25_run(queries, candidates)
        dense = vector_scores(vectors, qids, candidates, self.store)
        if k > 0 and beta > 0:
            first = fuse_runs([bm25, dense], method="rrf", k=60.0)
            vectors = feedback_queries(vectors, qids, first, self.store, k=k, beta=beta)
            dense = vector_scores(vectors, qids, candidates, self.store)
        return bm25, dense, vectors

    def pseudo_query_vectors(
        self, queries: Mapping[str, str], ranking: TrecRun, k: int
    ) -> torch.Tensor:
        """[Q, D] normalised vectors of E²Rank's pseudo-queries (module docstring, step
        5): each query's text followed by the texts of its top ``k`` passages in
        ``ranking`` (ties by rank order), encoded by the current query encoder with the
        passage length limit (a pseudo-query is as long as a few passages). A query
        absent from ``ranking`` is its own pseudo-query."""
        by_query = ranking.by_query()
        texts = []
        for q in queries:
            text = queries[q]
            if q in by_query:
                docs, scores = by_query[q]
                top = [self.documents[docs[j]] for j in top_positions(scores, k)]
                text = pseudo_query_text(text, top)
            texts.append(text)
        self.model.eval()
        return torch.nn.functional.normalize(
            self.model.encoder.encode(texts, batch_size=16).float(), dim=-1
        )

    def _pseudo_query_run(
        self,
        queries: Mapping[str, str],
        candidates: Mapping[str, Sequence[str]],
        bm25: TrecRun,
        dense: TrecRun,
        vectors: torch.Tensor,
        bm25_weight: float,
        k: int,
        weight: float,
    ) -> TrecRun:
        """The dense run of step 5: candidates scored by the feedback vectors moved
        towards the pseudo-queries of the hybrid ranking at ``bm25_weight``."""
        ranking = _hybrid(bm25, dense, bm25_weight)
        pseudo = self.pseudo_query_vectors(queries, ranking, k)
        moved = torch.nn.functional.normalize(
            weight * pseudo + (1.0 - weight) * vectors.float(), dim=-1
        )
        return vector_scores(moved, list(queries), candidates, self.store)

    # ------------------------------------------------------------------ training
    def train_query_encoder(
        self, queries: Mapping[str, str], qrels: Qrels, candidates: Mapping[str, Sequence[str]]
    ) -> dict[str, float]:
        """Fine-tune the query side (module docstring, step 2).

        ``train_lists="collection"`` (with ``candidates="union"``; a given first stage's
        passages are not a collection): each training list is the whole collection (every
        cached passage vector, graded by the qrels): the list loss sees every negative,
        the easy ones too, at the cost of one matrix product per batch (used up to 100,000
        passages; beyond, the candidates). ``"candidates"``: the query's candidates plus
        its relevant passages no first stage found.
        """
        from rankwise.losses import LOSSES

        s = self.settings
        torch.manual_seed(s.seed)
        # a given first stage's passages are no collection: its lists are its candidates
        whole = (
            s.train_lists == "collection" and s.candidates == "union" and len(self.store) <= 100_000
        )
        if whole:
            every = list(self.store.ids)
            candidates = {q: every for q in queries}
        lists = TrainingLists(
            queries, qrels, candidates, list_size=None, documents=self.documents, seed=s.seed
        )
        matrix = torch.from_numpy(np.array(self.store.vectors, dtype=np.float32)) if whole else None
        collate = TextListCollator(self.documents, None if whole else self.store)
        loss = LOSSES.build(s.loss, {})
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=s.lr)
        generator = np.random.default_rng(s.seed)
        self.model.train()
        started = time.perf_counter()
        passages = 0
        for epoch in range(s.epochs):
            lists.set_epoch(epoch)
            order = generator.permutation(len(lists))
            for lo in range(0, len(order), s.batch_size):
                items = [lists[int(i)] for i in order[lo : lo + s.batch_size]]
                if matrix is not None:
                    q = self.model.encode_queries([item.query for item in items])
                    scores = (q @ matrix.T) / self.model.temperature
                    labels = torch.zeros_like(scores)
                    for row, item in enumerate(items):
                        for d, y in qrels.get(item.qid, {}).items():
                            if d in self.store.row and y > 0:
                                labels[row, self.store.row[d]] = float(y)
                    value = loss(scores, labels)
                    passages += scores.numel()
                else:
                    batch = collate(items)
                    value = loss(self.model.score_batch(batch), batch.labels, batch.mask)
                    passages += batch.num_documents
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
        seconds = time.perf_counter() - started
        self.model.eval()
        self.log(
            f"query encoder: {s.epochs} epochs over {len(lists)} lists "
            f"({'the whole collection' if whole else 'candidates'}) in {seconds:.1f} s "
            f"({passages / max(seconds, 1e-9):.0f} passages scored/s), "
            f"{len(lists.skipped)} queries without a relevant passage left out"
        )
        return {"seconds": seconds, "passages_per_s": passages / max(seconds, 1e-9)}

    # ------------------------------------------------------------------ fit / run
    def _tune(
        self, name: str, queries: Mapping[str, str], qrels: Qrels, given: TrecRun | None
    ) -> list[dict[str, Any]]:
        """Trials on ``queries``: per feedback setting, the hybrid weight tuned; then, at
        that weight, each pseudo-query setting (a trial each, ``(0, 0.0)`` = without)."""
        s = self.settings
        cands = self.candidates(queries, given)
        trials = []
        for k, beta in s.feedback:
            bm25, dense, vectors = self._hybrid_inputs(queries, cands, k, beta, given)
            tuned = tune_run_weights(
                [bm25, dense],
                qrels,
                normalization="z_score",
                metric=TREC_NDCG10,
                step=s.weight_step,
            )
            weight = tuned.weights[0]
            for pseudo_k, pseudo_weight in s.pseudo_query:
                if pseudo_k > 0 and pseudo_weight > 0:
                    moved = self._pseudo_query_run(
                        queries, cands, bm25, dense, vectors, weight, pseudo_k, pseudo_weight
                    )
                    value = evaluate_ndcg10(_hybrid(bm25, moved, weight), qrels)
                else:
                    value = tuned.value
                trials.append(
                    {
                        "encoder": name,
                        "feedback_k": k,
                        "feedback_beta": beta,
                        "bm25_weight": weight,
                        "pseudo_k": pseudo_k,
                        "pseudo_weight": pseudo_weight,
                        "tuned_ndcg10": value,
                        "tuned_on": len(qrels),
                    }
                )
        return trials

    def _value(
        self, trial: Mapping[str, Any], valid: TextCollection, given: TrecRun | None
    ) -> float:
        self.choice = PipelineChoice(
            fine_tuned=trial["encoder"] == "fine-tuned",
            feedback_k=int(trial["feedback_k"]),
            feedback_beta=float(trial["feedback_beta"]),
            bm25_weight=float(trial["bm25_weight"]),
            valid_ndcg10=float("nan"),
            pseudo_k=int(trial["pseudo_k"]),
            pseudo_weight=float(trial["pseudo_weight"]),
        )
        return evaluate_ndcg10(self.run(valid.queries, given=given), valid.qrels)

    def fit(
        self,
        train: TextCollection,
        valid: TextCollection,
        *,
        given: TrecRun | None = None,
    ) -> PipelineChoice:
        """Train on ``train``'s queries and choose on held-out ones (module docstring);
        ``given``: the first stage for ``candidates="given"``.

        The zero-shot encoder has seen no query, so its feedback and hybrid settings are
        tuned on training and validation queries together (more queries, less noise);
        the fine-tuned encoder's are tuned on the validation queries only. The two are
        then compared on the validation queries, each with its own settings.
        """
        s = self.settings
        both = {**train.queries, **valid.queries}
        judged = {**train.qrels, **valid.qrels}
        self.model.load_state_dict(self.base_state)
        trials = self._tune("zero-shot", both, judged, given)
        zero = max(trials, key=lambda t: t["tuned_ndcg10"])
        candidates = [(self._value(zero, valid, given), zero, copy.deepcopy(self.base_state))]
        if s.epochs > 0:
            self.train_query_encoder(
                train.queries, train.qrels, self.candidates(train.queries, given)
            )
            tuned = self._tune("fine-tuned", valid.queries, valid.qrels, given)
            trials += tuned
            best_tuned = max(tuned, key=lambda t: t["tuned_ndcg10"])
            candidates.append(
                (best_tuned["tuned_ndcg10"], best_tuned, copy.deepcopy(self.model.state_dict()))
            )
        value, trial, state = max(candidates, key=lambda c: c[0])  # first wins ties: zero-shot
        self.model.load_state_dict(state)
        if s.refit and trial["encoder"] == "fine-tuned":
            # settled on the validation queries: train again on training and validation
            # queries together, with the same settings
            self.model.load_state_dict(self.base_state)
            self.train_query_encoder(both, judged, self.candidates(both, given))
        self.choice = PipelineChoice(
            fine_tuned=trial["encoder"] == "fine-tuned",
            feedback_k=int(trial["feedback_k"]),
            feedback_beta=float(trial["feedback_beta"]),
            bm25_weight=float(trial["bm25_weight"]),
            valid_ndcg10=value,
            pseudo_k=int(trial["pseudo_k"]),
            pseudo_weight=float(trial["pseudo_weight"]),
            trials=trials,
        )
        self.log(
            f"chosen: {trial['encoder']} encoder, feedback k={trial['feedback_k']} "
            f"beta={trial['feedback_beta']}, BM25 weight {trial['bm25_weight']:.2f}, "
            f"pseudo-query k={trial['pseudo_k']} weight {trial['pseudo_weight']} "
            f"(validation NDCG@10 {value:.4f} on {len(valid.qrels)} queries; zero-shot "
            f"{candidates[0][0]:.4f})"
        )
        return self.choice

    def zero_shot(self) -> PipelineChoice:
        """Use the base encoder with :data:`ZERO_SHOT`'s settings, without any fitting."""
        self.model.load_state_dict(self.base_state)
        self.choice = PipelineChoice(valid_ndcg10=float("nan"), **ZERO_SHOT)  # type: ignore[arg-type]
        return self.choice

    def run(
        self, queries: Mapping[str, str], *, given: TrecRun | None = None, tag: str = "rankwise"
    ) -> TrecRun:
        """The pipeline's ranking of ``queries`` with the settings :meth:`fit` chose."""
        c = self.choice
        if c is None:
            raise RuntimeError("TextPipeline: fit (or load) it first")
        cands = self.candidates(queries, given)
        bm25, dense, vectors = self._hybrid_inputs(
            queries, cands, c.feedback_k, c.feedback_beta, given
        )
        if c.uses_pseudo_query:
            dense = self._pseudo_query_run(
                queries, cands, bm25, dense, vectors, c.bm25_weight, c.pseudo_k, c.pseudo_weight
            )
        return _hybrid(bm25, dense, c.bm25_weight, tag=tag)

    # ------------------------------------------------------------------ files
    def save(self, folder: PathLike) -> Path:
        """Write the settings, the choice and the query encoder's weights."""
        if self.choice is None:
            raise RuntimeError("TextPipeline: nothing to save before fit")
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        choice = asdict(self.choice)
        choice.pop("trials")
        meta = {"format": 1, "settings": asdict(self.settings), "choice": choice}
        (root / "pipeline.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        torch.save(self.model.state_dict(), root / "query_encoder.pt")
        return root

    @classmethod
    def load(
        cls,
        folder: PathLike,
        documents: Mapping[str, str],
        *,
        cache_dir: PathLike | None = None,
        progress: bool = False,
    ) -> TextPipeline:
        """A fitted pipeline from :meth:`save`, over ``documents``."""
        root = Path(folder)
        meta = json.loads((root / "pipeline.json").read_text(encoding="utf-8"))
        settings = PipelineSettings(**meta["settings"])
        pipeline = cls(documents, settings, cache_dir=cache_dir, progress=progress)
        state = torch.load(root / "query_encoder.pt", map_location="cpu", weights_only=True)
        pipeline.model.load_state_dict(state)
        pipeline.choice = PipelineChoice(**meta["choice"])
        return pipeline


def _hybrid(bm25: TrecRun, dense: TrecRun, bm25_weight: float, tag: str = "fused") -> TrecRun:
    """Step 4's fusion: z-normalised scores, weights ``bm25_weight`` and ``1 - bm25_weight``."""
    return fuse_runs(
        [bm25, dense],
        method="weighted_sum",
        normalization="z_score",
        weights=[bm25_weight, 1.0 - bm25_weight],
        tag=tag,
    )


def cross_validate(
    collection: TextCollection,
    folds: Sequence[Sequence[str]],
    settings: PipelineSettings | None = None,
    *,
    given: str | None = None,
    cache_dir: PathLike | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[TrecRun, list[PipelineChoice]]:
    """The pipeline cross-validated on ``folds``: the concatenated test-fold runs and
    each round's choice. ``given``: the name of the collection's first-stage run to
    rerank (``candidates="given"``)."""
    from rankwise.text.folds import fold_split

    s = settings or PipelineSettings()
    run_given = collection.runs[given] if given is not None else None
    pipeline = TextPipeline(
        collection.documents, s, cache_dir=cache_dir, progress=progress, log=log
    )
    parts: list[TrecRun] = []
    choices = []
    for f in range(len(folds)):
        train_q, valid_q, test_q = fold_split(folds, f)
        (log or (lambda m: None))(
            f"fold {f + 1}/{len(folds)}: {len(train_q)} train, {len(valid_q)} valid, "
            f"{len(test_q)} test queries"
        )
        pipeline.model.load_state_dict(pipeline.base_state)
        choices.append(
            pipeline.fit(collection.subset(train_q), collection.subset(valid_q), given=run_given)
        )
        parts.append(pipeline.run(collection.subset(test_q).queries, given=run_given))
    joined = TrecRun(
        np.concatenate([p.qids for p in parts]),
        np.concatenate([p.docids for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.ranks for p in parts]),
        "rankwise",
    )
    return joined, choices


def evaluate_ndcg10(run: TrecRun, qrels: Qrels) -> float:
    """trec_eval's ``ndcg_cut.10`` mean of ``run`` (queries in both run and qrels)."""
    return float(evaluate_run(run, qrels, [TREC_NDCG10]).means()[TREC_NDCG10])


__all__ = [
    "TREC_NDCG10",
    "ZERO_SHOT",
    "PipelineChoice",
    "PipelineSettings",
    "TextPipeline",
    "cross_validate",
    "evaluate_ndcg10",
]
