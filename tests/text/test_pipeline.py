"""The text pipeline, its baselines and the robustness report, on the toy collection
with a tiny model (the real figures are in benchmarks/bench_text.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rankwise.runs import evaluate_run
from rankwise.text.baselines import baseline_runs, ndcg_table
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.pipeline import (
    TREC_NDCG10,
    ZERO_SHOT,
    PipelineSettings,
    TextPipeline,
    cross_validate,
    evaluate_ndcg10,
)
from rankwise.text.robustness import (
    no_stopwords,
    robustness_report,
    sentence_order,
    truncation,
    typos,
    word_order,
)

FOLDS = [["q1"], ["q2"], ["q3"], ["q4"]]


def _settings(tiny_model_dir, **changes):
    base = {"model": str(tiny_model_dir), "epochs": 2, "depth": 5, "feedback": [(0, 0.0), (2, 1.0)]}
    return PipelineSettings(**{**base, **changes})


def test_fit_chooses_on_validation_and_runs(tiny_model_dir, toy, tmp_path):
    logged = []
    pipeline = TextPipeline(toy.documents, _settings(tiny_model_dir), log=logged.append)
    choice = pipeline.fit(toy.subset(["q1", "q2"]), toy.subset(["q3"]))
    assert choice.feedback_k in (0, 2) and 0 <= choice.bm25_weight <= 1
    # the trials: the zero-shot encoder's tuned on train + valid, the trained one on valid
    tuned_on = {(t["encoder"], t["tuned_on"]) for t in choice.trials}
    assert tuned_on == {("zero-shot", 3), ("fine-tuned", 1)}
    # every feedback setting meets every pseudo-query setting, per encoder
    grid = {
        (t["encoder"], t["feedback_k"], t["pseudo_k"], t["pseudo_weight"]) for t in choice.trials
    }
    settings = pipeline.settings
    assert len(grid) == 2 * len(settings.feedback) * len(settings.pseudo_query)
    assert (choice.pseudo_k, choice.pseudo_weight) in settings.pseudo_query
    run = pipeline.run(toy.subset(["q4"]).queries)
    assert run.queries() == ["q4"] and len(run) >= 1
    assert any("query encoder" in line for line in logged)
    pipeline.save(tmp_path / "p")
    again = TextPipeline.load(tmp_path / "p", toy.documents)
    assert again.choice.bm25_weight == choice.bm25_weight
    assert (again.choice.pseudo_k, again.choice.pseudo_weight) == (
        choice.pseudo_k,
        choice.pseudo_weight,
    )
    np.testing.assert_allclose(again.run(toy.subset(["q4"]).queries).scores, run.scores, rtol=1e-5)


def test_the_hybrid_weight_is_the_one_fused(tiny_model_dir, toy):
    pipeline = TextPipeline(toy.documents, _settings(tiny_model_dir, epochs=0))
    pipeline.zero_shot()
    assert {k: getattr(pipeline.choice, k) for k in ZERO_SHOT} == ZERO_SHOT
    pipeline.choice.bm25_weight = 1.0
    pipeline.choice.feedback_k = 0
    lexical = pipeline.run(toy.queries)
    bm25 = pipeline.bm25.search(toy.queries, k=5)
    # with all the weight on BM25, each query's top document is BM25's
    for q in toy.queries:
        assert lexical.by_query()[q][0][0] == bm25.by_query()[q][0][0]


def test_the_pseudo_query_step_scores_by_its_definition(tiny_model_dir, toy):
    """With feedback off, the BM25 weight 0 and a pseudo-query of the top passage at
    weight 1, each query's candidates rank by the cosine of their cached vectors with the
    encoded text "query + its top dense candidate"."""
    import torch

    pipeline = TextPipeline(toy.documents, _settings(tiny_model_dir, epochs=0))
    pipeline.zero_shot()
    c = pipeline.choice
    c.feedback_k, c.bm25_weight, c.pseudo_k, c.pseudo_weight = 0, 0.0, 1, 1.0
    run = pipeline.run(toy.queries).by_query()
    candidates = pipeline.candidates(toy.queries)
    vectors = pipeline.query_vectors(toy.queries)
    for i, q in enumerate(toy.queries):
        docs = candidates[q]
        cached = pipeline.store.lookup(docs)
        top = docs[int(torch.argmax(cached @ vectors[i].float()))]
        text = f"{toy.queries[q]} {toy.documents[top]}"
        pseudo = torch.nn.functional.normalize(pipeline.model.encoder.encode([text]).float())
        expected = [docs[j] for j in torch.argsort(cached @ pseudo[0], descending=True)]
        ranked_docs, _ = run[q]
        assert list(ranked_docs) == expected


def test_pseudo_query_settings_are_checked(tiny_model_dir):
    with pytest.raises(ValueError, match="pseudo_query"):
        _settings(tiny_model_dir, pseudo_query=[(3, 1.5)])


def test_cross_validation_keeps_test_queries_out(tiny_model_dir, toy):
    run, choices = cross_validate(toy, FOLDS, _settings(tiny_model_dir, epochs=1))
    assert sorted(run.queries()) == ["q1", "q2", "q3", "q4"] and len(choices) == 4
    value = evaluate_ndcg10(run, toy.qrels)
    assert 0 <= value <= 1
    assert value == pytest.approx(evaluate_run(run, toy.qrels, [TREC_NDCG10]).means()[TREC_NDCG10])


def test_given_candidates_are_reranked_not_extended(tiny_model_dir, toy):
    from .conftest import run_of

    given = run_of({q: [("d1", 3.0), ("d3", 2.0), ("d5", 1.0)] for q in toy.queries})
    pipeline = TextPipeline(toy.documents, _settings(tiny_model_dir, candidates="given", epochs=0))
    pipeline.fit(toy.subset(["q1", "q2"]), toy.subset(["q3"]), given=given)
    run = pipeline.run({"q4": toy.queries["q4"]}, given=given)
    assert sorted(run.docids.tolist()) == ["d1", "d3", "d5"]
    with pytest.raises(ValueError, match="needs a first-stage run"):
        pipeline.run({"q4": toy.queries["q4"]})


def test_baselines(tiny_model_dir, toy):
    pipeline = TextPipeline(toy.documents, _settings(tiny_model_dir))
    store = EmbeddingStore.build(pipeline.model.encoder, toy.documents)
    runs = baseline_runs(toy, FOLDS, store, pipeline.model.encoder, depth=5)
    assert set(runs) == {"bm25", "dense rerank", "dense", "rrf", "union", "interpolation"}
    table = ndcg_table(runs, toy)
    assert all(0 <= v <= 1 for v in table.values())
    # the cosine rerank reorders BM25's candidates only
    for q in toy.queries:
        assert set(runs["dense rerank"].by_query()[q][0]) == set(
            runs["bm25"].by_query().get(q, ([], []))[0]
        )


def test_perturbations_are_seeded_and_keep_meaning_bearing_words():
    rng = lambda: np.random.default_rng(7)  # noqa: E731
    text = "the aerodynamic heating of a swept wing at high speed"
    assert typos(text, rng()) == typos(text, rng())
    assert sorted(word_order(text, rng()).split()) == sorted(text.split())
    assert no_stopwords(text) == "aerodynamic heating swept wing high speed"
    assert no_stopwords("what is it") == "what is it"  # nothing would remain
    assert truncation("one two three four five") == "one two"
    shuffled = sentence_order("A b. C d! E f?", rng())
    assert sorted(shuffled.split()) == sorted(["A", "b.", "C", "d!", "E", "f?"])


def test_robustness_report_measures_each_perturbation(toy):
    from rankwise.text.bm25 import BM25Index

    def rank(queries, documents):
        return BM25Index.build(documents).search(queries, k=5)

    report = robustness_report(rank, toy.queries, toy.documents, toy.qrels, seed=0)
    assert report.queries == 4 and 0 < report.original <= 1
    assert set(report.rows) == {
        "query: typos",
        "query: word_order",
        "query: no_stopwords",
        "document: truncation",
        "document: sentence_order",
    }
    # BM25 is a bag of words: shuffling words changes nothing
    assert report.rows["query: word_order"]["drop"] == pytest.approx(0.0)
    for row in report.rows.values():
        assert math.isclose(row["ndcg10"] - report.original, row["drop"], abs_tol=1e-12)
        assert row["worst10_drop"] <= row["drop"] + 1e-12  # the worst decile loses most
    assert "| query: typos |" in report.table()
