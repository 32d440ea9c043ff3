"""Text ranking on Cranfield, Vaswani and TREC DL 2019: quality and speed.

Quality (trec_eval ``ndcg_cut.10``: linear gain, graded, ties by docid; every number
5-fold cross-validated on the stored folds of ``rankwise.text.folds``): BM25, the
untrained all-MiniLM-L6-v2 cosine rerank of BM25's top-100, the simple fusions of
``rankwise.text.baselines`` (RRF, union, tuned interpolation) and rankwise's pipeline
(``rankwise.text.pipeline``: query encoder trained on the training folds, vector
feedback, hybrid weight, everything chosen on held-out folds), plus the pipeline
zero-shot (no query of the collection seen, ``ZERO_SHOT`` settings).

Speed, measured in this one run on the same passages: passages/s encoding with rankwise
(fp32, and bf16 where the CPU has it) against sentence-transformers' ``encode`` on the
same model and batch size; reranking 100 candidates of one query with cached passage
vectors (bi-encoder) and without (the passages encoded on the fly); training passages/s
per model kind (query encoder over cached vectors, full bi-encoder, cross-encoder).

    .venv/bin/python benchmarks/bench_text.py [--data ../shared/data] [--only cranfield]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from _machine import cpu_model
from rankwise.losses import LOSSES
from rankwise.text.baselines import compare_systems
from rankwise.text.collection import load_collection
from rankwise.text.embeddings import EmbeddingStore
from rankwise.text.encoders import TextEncoder, fast_bf16
from rankwise.text.folds import stored_folds
from rankwise.text.lists import TextListCollator, TrainingLists, candidate_lists, rerank_lists
from rankwise.text.models import BiEncoder, CrossEncoder

COLLECTIONS = {
    "cranfield": ("cranfield", None),
    "vaswani": ("vaswani-npl", None),
    "dl19": ("trec-dl-2019-passage-bm25top100", "bm25"),
}


def quality(name: str, data: Path, cache: Path) -> dict[str, float]:
    folder, given = COLLECTIONS[name]
    collection = load_collection(data / folder)
    started = time.perf_counter()
    table = compare_systems(
        collection, stored_folds(name), given=given, cache_dir=cache / name, log=print
    )
    print(f"{name}: {time.perf_counter() - started:.0f} s")
    return table


def encoding_speed(data: Path) -> dict[str, float]:
    from sentence_transformers import SentenceTransformer

    from rankwise.text.encoders import default_model_path

    collection = load_collection(data / "trec-dl-2019-passage-bm25top100")
    texts = list(collection.documents.values())[:800]
    encoder = TextEncoder("default")
    reference = SentenceTransformer(str(default_model_path()), device="cpu")
    out: dict[str, float] = {}
    for batch in (16, 32):
        t = time.perf_counter()
        ours = encoder.encode(texts, batch_size=batch)
        out[f"rankwise fp32, batch {batch}"] = len(texts) / (time.perf_counter() - t)
        t = time.perf_counter()
        theirs = reference.encode(texts, batch_size=batch, normalize_embeddings=True)
        out[f"sentence-transformers, batch {batch}"] = len(texts) / (time.perf_counter() - t)
        out[f"max |difference| of the vectors, batch {batch}"] = float(
            np.abs(ours.numpy() - theirs).max()
        )
    if fast_bf16():
        t = time.perf_counter()
        half = encoder.encode(texts, batch_size=16, precision="bf16")
        out["rankwise bf16 (AVX512-BF16), batch 16"] = len(texts) / (time.perf_counter() - t)
        out["min cosine bf16 vs fp32"] = float((half * ours).sum(1).min())
    return out


def rerank_latency(data: Path, cache: Path) -> dict[str, float]:
    collection = load_collection(data / "trec-dl-2019-passage-bm25top100")
    run = collection.runs["bm25"]
    qid = run.queries()[0]
    cands = candidate_lists([run], [qid], depth=100)
    model = BiEncoder("default").eval()
    store = EmbeddingStore.cached(model.encoder, collection.documents, cache / "dl19")
    collate = TextListCollator(collection.documents, store)
    plain = TextListCollator(collection.documents)
    items = rerank_lists({qid: collection.queries[qid]}, cands)
    out: dict[str, float] = {}
    with torch.no_grad():
        model.score_batch(collate(items))  # warm-up
        t = time.perf_counter()
        for _ in range(20):
            model.score_batch(collate(items))
        out["bi-encoder, cached passage vectors (ms per query, 100 candidates)"] = (
            (time.perf_counter() - t) / 20 * 1000
        )
        t = time.perf_counter()
        model.score_batch(plain(items))
        out["bi-encoder, passages encoded on the fly (ms)"] = (time.perf_counter() - t) * 1000
        cross = CrossEncoder("default").eval()
        t = time.perf_counter()
        cross.score_batch(plain(items))
        out["cross-encoder, 100 pairs (ms)"] = (time.perf_counter() - t) * 1000
    return out


def training_speed(data: Path, cache: Path) -> dict[str, float]:
    collection = load_collection(data / "trec-dl-2019-passage-bm25top100")
    run = collection.runs["bm25"]
    qids = collection.judged_queries()[:16]
    cands = candidate_lists([run], qids, depth=100)
    sub = collection.subset(qids)
    lists = TrainingLists(
        sub.queries, sub.qrels, cands, list_size=16, positives=1, documents=collection.documents
    )
    loss = LOSSES.build("softmax", {})
    out: dict[str, float] = {}
    kinds = {
        "bi-encoder, query side over cached vectors": lambda: BiEncoder(
            "default", train_documents=False
        ),
        "bi-encoder, both sides": lambda: BiEncoder("default"),
        "bi-encoder, both sides, gradient cache (chunks of 32)": lambda: BiEncoder(
            "default", chunk_size=32
        ),
        "cross-encoder ([CLS])": lambda: CrossEncoder("default"),
    }
    for name, make in kinds.items():
        model = make()
        store = (
            EmbeddingStore.cached(model.encoder, collection.documents, cache / "dl19")
            if not model.params.get("train_documents", True)
            else None
        )
        collate = TextListCollator(collection.documents, store)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
        model.train()
        passages, started = 0, time.perf_counter()
        for lo in range(0, len(lists), 4):
            batch = collate([lists[i] for i in range(lo, min(lo + 4, len(lists)))])
            value = loss(model.score_batch(batch), batch.labels, batch.mask)
            opt.zero_grad()
            value.backward()
            opt.step()
            passages += batch.num_documents
        out[name] = passages / (time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("RANKWISE_DATA_DIR", "../shared/data"))
    parser.add_argument("--cache", default="benchmarks/_work/text")
    parser.add_argument("--only", choices=sorted(COLLECTIONS), action="append")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    data, cache = Path(args.data), Path(args.cache)
    results: dict[str, object] = {
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    print(f"CPU {results['cpu']}, {results['threads']} threads, torch {results['torch']}")
    for name in args.only or list(COLLECTIONS):
        table = quality(name, data, cache)
        results[name] = table
        print(f"\n| {name} | NDCG@10 (trec_eval ndcg_cut.10) |\n|---|---|")
        for system, value in table.items():
            print(f"| {system} | {value:.4f} |")
    if not args.skip_speed:
        for title, fn in (
            ("encoding passages/s (800 TREC DL passages)", lambda: encoding_speed(data)),
            ("reranking one query", lambda: rerank_latency(data, cache)),
            (
                "training passages/s (16 DL queries, lists of 16, batches of 4)",
                lambda: training_speed(data, cache),
            ),
        ):
            values = fn()
            results[title] = values
            print(f"\n| {title} | value |\n|---|---|")
            for key, value in values.items():
                print(f"| {key} | {value:.4g} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
