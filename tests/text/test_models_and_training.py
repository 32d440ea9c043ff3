"""Text rankers on candidate lists: shapes and masks, gradient caching equals the plain
computation, every list loss trains them, sampling, curricula, distillation."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from rankwise.losses import LOSSES, DistillationLoss
from rankwise.runs import evaluate_run
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.encoders import TextEncoder, cached_encode
from rankwise.text.lists import (
    Curriculum,
    TextListCollator,
    TrainingLists,
    candidate_lists,
    difficulty_from_run,
    rerank_lists,
)
from rankwise.text.models import (
    TEXT_MODELS,
    BiEncoder,
    CrossEncoder,
    PseudoQueryBiEncoder,
    build_text_model,
)
from rankwise.text.rerank import feedback_queries, rerank, vector_scores
from rankwise.train.tasks import TextRankingTask
from rankwise.train.trainer import Trainer

from .conftest import run_of


def _batch(toy, store=None):
    lists = rerank_lists(
        toy.queries,
        {"q1": ["d1", "d2", "d3"], "q2": ["d3"], "q3": [], "q4": ["d5", "d1"]},
        toy.qrels,
    )
    return TextListCollator(toy.documents, store)(lists)


def test_collated_batch(toy):
    batch = _batch(toy)
    assert batch.labels.tolist() == [[2, 1, 0], [2, 0, 0], [0, 0, 0], [1, 0, 0]]
    assert batch.mask.sum(1).tolist() == [3, 1, 0, 2] and batch.num_documents == 6
    queries, passages, positions = batch.real_pairs()
    assert positions.tolist() == [0, 1, 2, 3, 9, 10] and passages[3] == toy.documents["d3"]
    assert queries[4] == toy.queries["q4"]


@pytest.mark.parametrize("name", ["bi_encoder", "cross_encoder", "pseudo_query"])
def test_models_score_lists_and_ignore_padding(tiny_model_dir: Path, toy, name):
    torch.manual_seed(0)
    model = TEXT_MODELS.build(name, {"path": str(tiny_model_dir)}).eval()
    batch = _batch(toy)
    scores = model.score_batch(batch)
    assert scores.shape == (4, 3) and (scores[~batch.mask] == 0).all()
    # a list's scores do not depend on the other lists of the batch
    alone = TextListCollator(toy.documents)(
        rerank_lists({"q1": toy.queries["q1"]}, {"q1": ["d1", "d2", "d3"]})
    )
    assert torch.allclose(model.score_batch(alone)[0], scores[0], atol=1e-5)
    rebuilt = build_text_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.allclose(rebuilt.eval().score_batch(batch), scores, atol=1e-6)


def test_bi_encoder_uses_cached_vectors_when_documents_are_frozen(tiny_model_dir, toy):
    enc = TextEncoder(tiny_model_dir)
    store = EmbeddingStore.build(enc, toy.documents)
    model = BiEncoder(str(tiny_model_dir), train_documents=False).eval()
    cached = model.score_batch(_batch(toy, store))
    plain = BiEncoder(str(tiny_model_dir)).eval().score_batch(_batch(toy))
    assert torch.allclose(cached, plain, atol=1e-5)
    model.train()
    with pytest.raises(ValueError, match="needs cached doc_vectors"):
        model.score_batch(_batch(toy))


def _loss_and_grads(model, batch):
    loss = LOSSES.build("softmax", {})
    torch.manual_seed(123)
    value = loss(model.score_batch(batch), batch.labels, batch.mask)
    model.zero_grad()
    value.backward()
    return value.detach(), {n: p.grad for n, p in model.named_parameters()}


def _assert_same(a, b):
    assert torch.allclose(a[0], b[0], atol=1e-6)
    for name, grad in a[1].items():
        if grad is None:
            assert b[1][name] is None, name
        else:
            torch.testing.assert_close(b[1][name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("name", ["bi_encoder", "cross_encoder"])
def test_gradient_caching_equals_the_plain_computation(tiny_model_dir, toy, name):
    torch.manual_seed(0)
    plain = TEXT_MODELS.build(name, {"path": str(tiny_model_dir)}).eval()  # no dropout
    cached = copy.deepcopy(plain)
    cached.chunk_size = 2  # 2 texts (or pairs) at a time
    batch = _batch(toy)
    _assert_same(_loss_and_grads(plain, batch), _loss_and_grads(cached, batch))


@pytest.mark.parametrize("name", ["bi_encoder", "cross_encoder"])
def test_gradient_caching_replays_the_dropout_of_its_first_pass(
    tiny_model_dir, toy, name, monkeypatch
):
    # with dropout on, the reference is the same chunked encoding kept in one graph: the
    # cached backward pass must see the masks its forward pass drew
    import rankwise.text.models as models

    torch.manual_seed(0)
    cached = TEXT_MODELS.build(name, {"path": str(tiny_model_dir), "chunk_size": 2}).train()
    reference = copy.deepcopy(cached)
    batch = _batch(toy)
    got = _loss_and_grads(cached, batch)

    def chunked(encode, inputs, size, parameters):
        return torch.cat([encode(inputs[lo : lo + size]) for lo in range(0, len(inputs), size)], 0)

    monkeypatch.setattr(models, "cached_encode", chunked)
    _assert_same(_loss_and_grads(reference, batch), got)


def test_cached_encode_without_autograd_is_chunked_encoding():
    net = torch.nn.Linear(3, 2)
    x = list(torch.randn(5, 3))
    with torch.no_grad():
        out = cached_encode(lambda rows: net(torch.stack(list(rows))), x, 2, list(net.parameters()))
        assert torch.allclose(out, net(torch.stack(x)))
    with pytest.raises(ValueError, match="chunk_size"):
        cached_encode(lambda rows: rows, x, 0, [])


def test_candidates_union_and_training_lists(toy):
    bm25 = run_of({"q1": [("d2", 3.0), ("d1", 2.0), ("d8", 1.0)], "q2": [("d3", 1.0)]})
    dense = run_of({"q1": [("d4", 0.9), ("d2", 0.8)], "q2": [("d5", 0.5), ("d6", 0.4)]})
    cands = candidate_lists([bm25, dense], ["q1", "q2"], depth=2)
    assert cands == {"q1": ["d2", "d1", "d4"], "q2": ["d3", "d5", "d6"]}
    lists = TrainingLists(
        toy.queries, toy.qrels, cands, list_size=3, positives=1, documents=toy.documents
    )
    assert lists.skipped == ["q3", "q4"]  # no candidate at all: nothing to contrast
    first = [lists[i] for i in range(len(lists))]
    assert all(sum(1 for y in item.labels if y > 0) == 1 for item in first)
    assert [lists[i].docids for i in range(len(lists))] == [i.docids for i in first]  # seeded
    lists.set_epoch(1)
    drawn = {tuple(lists[0].docids) for _ in range(3)}
    assert len(drawn) == 1  # same epoch, same list
    # q2's negatives are d5 and d6 (d3 is its positive); d2 is relevant but unretrieved
    assert set(lists[1].docids) <= {"d3", "d2", "d5", "d6"}


def test_curriculum_weights_anneal_to_uniform(toy):
    first = run_of({"q1": [("d1", 10.0), ("d3", 5.0), ("d2", 0.0)]})
    d = difficulty_from_run(first)
    assert d["q1"] == {"d1": 1.0, "d3": 0.5, "d2": 0.0}
    c = Curriculum(d, epochs=2)
    # positive d1 (D=1) against negative d3 (D=0.5): (1 - 0.5 + 1) / 2 = 0.75
    assert c.weight("q1", ["d1"], ["d3"], 0) == pytest.approx(0.75)
    # a positive the first stage ranks last is a hard list: (0 - 1 + 1) / 2 = 0
    assert c.weight("q1", ["d2"], ["d1", "d3"], 0) == pytest.approx(0.0)
    assert c.weight("q1", ["d2"], ["d1"], 1) == pytest.approx(0.5)  # half way
    assert c.weight("q1", ["d2"], ["d1"], 2) == pytest.approx(1.0)  # uniform from then on


def _fit(model, toy, loss, epochs=3, teacher=None, store=None, curriculum=None):
    cands = {q: list(toy.documents) for q in toy.queries}
    lists = TrainingLists(
        toy.queries,
        toy.qrels,
        cands,
        list_size=4,
        positives=1,
        teacher=teacher,
        curriculum=curriculum,
    )
    loader = torch.utils.data.DataLoader(
        lists,
        batch_size=2,
        shuffle=True,
        collate_fn=TextListCollator(toy.documents, store),
        generator=torch.Generator().manual_seed(0),
    )
    valid = torch.utils.data.DataLoader(
        rerank_lists(toy.queries, cands, toy.qrels),
        batch_size=4,
        collate_fn=TextListCollator(toy.documents, store),
    )
    task = TextRankingTask(loss, ["ndcg@10"], lists)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    return Trainer(model, task, opt, loader, valid=valid, epochs=epochs).fit()


LIST_LOSSES = ["softmax", "poly1_softmax", "lambda", "neural_ndcg", "approx_ndcg", "ranknet", "mw"]


@pytest.mark.parametrize("loss", LIST_LOSSES)
def test_every_list_loss_trains_a_bi_encoder(tiny_model_dir, toy, loss):
    torch.manual_seed(0)
    model = BiEncoder(str(tiny_model_dir))
    result = _fit(model, toy, LOSSES.build(loss, {}), epochs=2)
    losses = [row["train_loss"] for row in result.history]
    assert all(np.isfinite(losses)) and len(losses) == 2
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_a_cross_encoder_learns_the_toy_collection(tiny_model_dir, toy):
    torch.manual_seed(0)
    model = CrossEncoder(str(tiny_model_dir), pooling="mean")
    cands = {q: list(toy.documents) for q in toy.queries}
    before = evaluate_run(
        rerank(model, toy.queries, cands, toy.documents), toy.qrels, ["ndcg@10"]
    ).means()
    result = _fit(model, toy, LOSSES.build("softmax", {}), epochs=40)
    after = evaluate_run(
        rerank(model, toy.queries, cands, toy.documents), toy.qrels, ["ndcg@10"]
    ).means()
    # a random tiny BERT has to learn word matching through cross-attention from 4 queries
    assert after["ndcg@10"] > before["ndcg@10"] + 0.1, (before, after)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


@pytest.mark.parametrize(
    "name", sorted(n for n in LOSSES if issubclass(LOSSES[n], DistillationLoss))
)
def test_distillation_from_teacher_scores(tiny_model_dir, toy, name):
    torch.manual_seed(0)
    teacher = {
        q: {d: float(toy.qrels[q].get(d, 0.0)) * 3.0 for d in toy.documents} for q in toy.queries
    }
    model = BiEncoder(str(tiny_model_dir))
    result = _fit(model, toy, LOSSES.build(name, {}), epochs=2, teacher=teacher)
    assert np.isfinite(result.history[-1]["train_loss"])


def test_curriculum_weights_reach_the_loss(tiny_model_dir, toy):
    torch.manual_seed(0)
    weights = {q: {d: 0.0 for d in toy.documents} for q in toy.queries}
    # every difficulty 0: the raw weight is 1/2 for every list in epoch 0
    result = _fit(
        BiEncoder(str(tiny_model_dir)),
        toy,
        LOSSES.build("softmax", {}),
        epochs=1,
        curriculum=Curriculum(weights, epochs=4),
    )
    assert np.isfinite(result.history[0]["train_loss"])


def test_query_tower_training_over_cached_passages(tiny_model_dir, toy):
    torch.manual_seed(0)
    store = EmbeddingStore.build(TextEncoder(tiny_model_dir), toy.documents)
    model = BiEncoder(str(tiny_model_dir), train_documents=False)
    _fit(model, toy, LOSSES.build("softmax", {}), epochs=1, store=store)
    assert any(p.grad is not None for p in model.parameters())


def test_vector_feedback_and_vector_scores(tiny_model_dir, toy):
    enc = TextEncoder(tiny_model_dir)
    store = EmbeddingStore.build(enc, toy.documents)
    qids = list(toy.queries)
    q = enc.encode([toy.queries[x] for x in qids])
    cands = {x: list(toy.documents) for x in qids}
    base = vector_scores(q, qids, cands, store)
    expected = (torch.from_numpy(np.asarray(store.vectors)) @ q[0]).numpy()
    first = base.by_query()["q1"]
    assert np.allclose(sorted(first[1], reverse=True), sorted(expected, reverse=True), atol=1e-6)
    fed = feedback_queries(q, qids, base, store, k=2, beta=1.0)
    top2 = [base.by_query()["q1"][0][i] for i in range(2)]
    manual = torch.nn.functional.normalize(q[0] + store.lookup(top2).mean(0), dim=0)
    assert torch.allclose(fed[0], manual, atol=1e-6)
    assert torch.allclose(fed.norm(dim=1), torch.ones(len(qids)))


def test_pseudo_query_appends_the_list_head(tiny_model_dir, toy):
    model = PseudoQueryBiEncoder(str(tiny_model_dir), feedback=2)
    batch = _batch(toy)
    texts = model.pseudo_queries(batch)
    assert texts[0] == " ".join([toy.queries["q1"], toy.documents["d1"], toy.documents["d2"]])
    assert texts[2] == toy.queries["q3"]  # an empty list adds nothing


def test_list_reranker_starts_at_the_bi_encoder_and_is_order_free(tiny_model_dir, toy):
    from rankwise.text.models import ListReranker, needs_passage_vectors

    torch.manual_seed(0)
    enc = TextEncoder(tiny_model_dir)
    store = EmbeddingStore.build(enc, toy.documents)
    model = ListReranker(str(tiny_model_dir), d_model=16, num_heads=2).eval()
    assert needs_passage_vectors(model)
    first = {q: {d: float(i) for i, d in enumerate(toy.documents)} for q in toy.queries}
    cands = {"q1": ["d1", "d2", "d3"], "q2": ["d3"], "q3": [], "q4": ["d5", "d1"]}
    batch = TextListCollator(toy.documents, store)(
        rerank_lists(toy.queries, cands, toy.qrels, first)
    )
    assert batch.first_stage is not None and batch.first_stage[0].tolist() == [0.0, 1.0, 2.0]
    scores = model.score_batch(batch)
    bi = BiEncoder(str(tiny_model_dir), train_documents=False).eval().score_batch(batch)
    # the head starts at zero: exactly the bi-encoder's scores (with the full query length)
    assert torch.allclose(scores, bi, atol=1e-4)
    # train a step so the list part matters, then permute the candidates
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(3):
        loss = LOSSES.build("softmax", {})(model.score_batch(batch), batch.labels, batch.mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert not any(p.grad is not None for p in model.encoder.parameters())  # frozen
    before = model.score_batch(batch)[0, :3]
    perm = [2, 0, 1]
    swapped = {**cands, "q1": [cands["q1"][i] for i in perm]}
    batch2 = TextListCollator(toy.documents, store)(
        rerank_lists(toy.queries, swapped, toy.qrels, first)
    )
    after = model.score_batch(batch2)[0, :3]
    assert torch.allclose(after, before[perm], atol=1e-5)
    with pytest.raises(ValueError, match="cached passage vectors"):
        model.score_batch(_batch(toy))
