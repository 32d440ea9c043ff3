"""``rankwise serve`` with a text ranker: a real uvicorn server on loopback, real HTTP
requests of queries and passages, scores equal to ``rankwise text rerank``'s."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rankwise.serving.service import ServiceLimits
from rankwise.text.collection import load_collection
from rankwise.text.rerank import rerank
from rankwise.train.predict import load_text_ranker
from tests.serving.test_service import _Server


@pytest.mark.parametrize("kind", ["cross_encoder", "list_reranker"])
def test_a_text_ranker_is_served_with_rerank_scores(text_checkpoints, data_dir, kind):
    checkpoint = text_checkpoints[kind]
    collection = load_collection(data_dir / "cranfield")
    qids = collection.judged_queries()[:3]
    docids = list(collection.documents)[:6]
    payload = {
        "lists": [
            {
                "id": q,
                "query": collection.queries[q],
                "passages": [collection.documents[d] for d in docids],
            }
            for q in qids
        ]
    }
    with _Server(checkpoint, ServiceLimits(max_list_length=6)) as server:
        status, body = server.call("GET", "/health")
        assert status == 200 and json.loads(body)["kind"] == "text"
        status, answer = server.rank(payload)
        assert status == 200, answer
        # the same lists reranked offline; the store is built from the same passages
        model = load_text_ranker(checkpoint)
        store = None
        from rankwise.text.embeddings import EmbeddingStore
        from rankwise.text.models import needs_passage_vectors

        documents = {d: collection.documents[d] for d in docids}
        if needs_passage_vectors(model):
            store = EmbeddingStore.build(model.encoder, documents)
        run = rerank(
            model,
            {q: collection.queries[q] for q in qids},
            {q: docids for q in qids},
            documents,
            store=store,
        )
        offline = {(q, d): s for q, d, s in zip(run.qids, run.docids, run.scores, strict=True)}
        for result, q in zip(answer["results"], qids, strict=True):
            assert result["id"] == q
            want = np.asarray([offline[(q, d)] for d in docids])
            np.testing.assert_allclose(result["scores"], want, rtol=1e-5, atol=1e-5)
            assert sorted(result["order"]) == list(range(6))
        status, answer = server.rank({"query": "wings", "passages": ["a"] * 7})
        assert status == 422 and "at most 6 per list" in answer["detail"][0]["msg"]
        status, answer = server.rank(
            {"query": "wings", "passages": ["a", "b"], "first_stage": [1.0]}
        )
        assert status == 422 and answer["detail"][0]["loc"] == ["body", "first_stage"]
        status, answer = server.rank({"features": [[1.0, 2.0]]})
        assert status == 422 and "either 'lists' or 'query'" in answer["detail"][0]["msg"]
