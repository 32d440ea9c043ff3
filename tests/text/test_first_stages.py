"""Folds, BM25 and dense retrieval over cached vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rankwise.errors import DataFormatError
from rankwise.runs import evaluate_run
from rankwise.text.bm25 import BM25Index
from rankwise.text.collection import load_cranfield, load_dl19, load_vaswani
from rankwise.text.embeddings import EmbeddingStore, dense_search
from rankwise.text.encoders import TextEncoder
from rankwise.text.folds import fold_split, make_folds, stored_folds

TREC_NDCG10 = "ndcg@10[gain=linear,ties=stable]"


def test_make_folds_partitions_and_is_seeded():
    qids = [str(i) for i in range(1, 24)]
    folds = make_folds(qids, 5, seed=3)
    assert sorted(q for f in folds for q in f) == sorted(qids)
    assert [len(f) for f in folds] == [5, 5, 5, 4, 4]
    assert make_folds(list(reversed(qids)), 5, seed=3) == folds  # input order is irrelevant
    assert make_folds(qids, 5, seed=4) != folds
    with pytest.raises(ValueError, match="twice"):
        make_folds(["1", "1", "2"], 2)


def test_folds_from_a_json_file(tmp_path):
    from rankwise.text.folds import load_folds

    path = tmp_path / "folds.json"
    path.write_text('{"folds": [["a", "b"], ["c"]]}')
    assert load_folds(str(path)) == [["a", "b"], ["c"]]
    assert load_folds("dl19") == stored_folds("dl19")
    path.write_text('{"folds": [["a"]]}')
    with pytest.raises(DataFormatError, match=">= 2 folds"):
        load_folds(str(path))
    with pytest.raises(FileNotFoundError, match="neither stored"):
        load_folds(str(tmp_path / "none.json"))


def test_fold_split():
    folds = [["1"], ["2"], ["3"], ["4"]]
    assert fold_split(folds, 3) == (["2", "3"], ["1"], ["4"])
    assert fold_split(folds, 0, validation=False) == (["2", "3", "4"], [], ["1"])
    with pytest.raises(DataFormatError, match="overlap"):
        fold_split([["1"], ["1"]], 0)


@pytest.mark.parametrize(
    ("name", "loader", "folder"),
    [
        ("cranfield", load_cranfield, "cranfield"),
        ("vaswani", load_vaswani, "vaswani-npl"),
        ("dl19", load_dl19, "trec-dl-2019-passage-bm25top100"),
    ],
)
def test_stored_folds_are_the_seeded_folds_of_the_judged_queries(data_dir, name, loader, folder):
    collection = loader(data_dir / folder)
    stored = stored_folds(name)
    assert stored == make_folds(collection.judged_queries(), 5, seed=0)
    assert sorted(q for f in stored for q in f) == sorted(collection.judged_queries())


def test_bm25_ranks_by_term_statistics(tmp_path: Path):
    docs = {"a": "cats and more cats", "b": "one cat", "c": "dogs only", "d": "cats sit on mats"}
    index = BM25Index.build(docs, k1=1.2, b=0.75)
    run = index.search({"q": "cats"}, k=10)
    assert (
        run.docids.tolist()[0] == "a" and "c" not in run.docids.tolist()
    )  # no match: not retrieved
    assert (np.diff(run.scores) <= 0).all() and run.ranks.tolist() == list(range(1, len(run) + 1))
    scores = index.scores("cats")
    assert scores[index.docids.index("c")] == 0 and scores.argmax() == index.docids.index("a")
    # idf: a rarer term weighs more
    assert index.search({"q": "dogs"}, k=1).scores[0] > index.search({"q": "cats"}, k=1).scores[0]
    index.save(tmp_path / "idx")
    again = BM25Index.load(tmp_path / "idx")
    assert again.search({"q": "cats"}, k=10).docids.tolist() == run.docids.tolist()
    assert again.params == index.params


def test_bm25_options_and_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="method"):
        BM25Index(method="bm26")
    with pytest.raises(ValueError, match="stemmer"):
        BM25Index(stemmer="klingon")
    raw = BM25Index.build({"a": "the cats", "b": "the cat"}, stemmer=None, stopwords=None)
    assert raw.search({"q": "cat"}, k=5).docids.tolist() == ["b"]  # no stemming
    assert set(
        BM25Index.build({"a": "the cats", "b": "the cat"}).search({"q": "cat"}, k=5).docids
    ) == {"a", "b"}
    with pytest.raises(DataFormatError, match="not a rankwise BM25 index"):
        BM25Index.load(tmp_path)
    with pytest.raises(ValueError, match="k must be"):
        raw.search({"q": "x"}, k=0)


def test_bm25_on_cranfield_and_vaswani_matches_the_published_range(data_dir: Path):
    # the anchors: Cranfield 0.3734, Vaswani 0.4279 (trec_eval ndcg_cut.10)
    for loader, folder, lo, hi in (
        (load_cranfield, "cranfield", 0.35, 0.39),
        (load_vaswani, "vaswani-npl", 0.41, 0.45),
    ):
        c = loader(data_dir / folder)
        run = BM25Index.build(c.documents).search(c.queries, k=100)
        value = evaluate_run(run, c.qrels, [TREC_NDCG10]).means()[TREC_NDCG10]
        assert lo < value < hi, (folder, value)


def test_encoder_pooling_and_normalisation(tiny_model_dir: Path):
    enc = TextEncoder(tiny_model_dir, max_length=32)
    v = enc.encode(["the cat sat", "a dog", "the cat sat"], batch_size=2)
    assert v.shape == (3, 32) and torch.allclose(v.norm(dim=1), torch.ones(3))
    assert torch.allclose(v[0], v[2], atol=1e-6)  # length-sorted batching keeps the order
    # encode equals the plain forward pass
    with torch.no_grad():
        enc.eval()
        assert torch.allclose(enc(["a dog"]), v[1:2], atol=1e-6)
    cls = TextEncoder(tiny_model_dir, pooling="cls", normalize=False)
    assert not torch.allclose(cls.encode(["a dog"]).norm(), torch.tensor(1.0))
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        TextEncoder("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(ValueError, match="pooling"):
        TextEncoder(tiny_model_dir, pooling="max")  # type: ignore[arg-type]


def test_embedding_store_cache_and_exact_search(tiny_model_dir: Path, toy, tmp_path: Path):
    enc = TextEncoder(tiny_model_dir)
    store = EmbeddingStore.cached(enc, toy.documents, tmp_path / "store")
    assert len(store) == 8 and isinstance(store.vectors, np.memmap)
    again = EmbeddingStore.cached(enc, toy.documents, tmp_path / "store")
    assert again.meta == store.meta
    mtime = (tmp_path / "store" / "vectors.npy").stat().st_mtime_ns
    EmbeddingStore.cached(enc, toy.documents, tmp_path / "store")
    assert (tmp_path / "store" / "vectors.npy").stat().st_mtime_ns == mtime  # reused
    changed = dict(toy.documents, d8="something else entirely")
    assert not store.matches(enc, changed)
    rebuilt = EmbeddingStore.cached(enc, changed, tmp_path / "store")
    assert not np.allclose(rebuilt.lookup(["d8"]), store.lookup(["d8"]))
    # blocked search equals the full matrix product
    q = enc.encode(list(toy.queries.values()))
    rows, scores = rebuilt.search(q, 3, block=3)
    full = q @ torch.from_numpy(np.array(rebuilt.vectors)).T
    assert torch.equal(rows, torch.argsort(full, dim=1, descending=True, stable=True)[:, :3])
    assert torch.allclose(scores, full.gather(1, rows))
    run = dense_search(enc, rebuilt, toy.queries, k=2)
    assert len(run) == 8 and run.ranks.tolist()[:2] == [1, 2]
    with pytest.raises(KeyError, match="not in the embedding store"):
        rebuilt.lookup(["nope"])
