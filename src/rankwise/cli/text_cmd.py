"""``rankwise text``: first-stage indexes, search and reranking over text collections.

    rankwise text index ../shared/data/cranfield -o cran.idx          # BM25 (+ --dense)
    rankwise text search cran.idx ../shared/data/cranfield -o bm25.run [--dense] [-k 100]
    rankwise text rerank ../shared/data/cranfield --run bm25.run -o reranked.run \\
        [--model default | RUN_DIR | PIPELINE_DIR]
    rankwise text pipeline ../shared/data/cranfield --folds cranfield -o cv.run

A COLLECTION is a folder in a known layout (Cranfield, Vaswani, TREC DL top-100 JSON,
BEIR), or ``-`` with ``--documents``, ``--topics`` and ``--qrels`` files. Every command
writes TREC runs that ``rankwise evaluate`` reads; NDCG@10 is printed with trec_eval's
conventions (``ndcg_cut.10``: linear gain, ties by docid).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


def add_collection_options(p: argparse.ArgumentParser) -> None:
    """The COLLECTION argument and the files that replace it."""
    p.add_argument("collection", help="collection folder (known layout), or - with --documents")
    g = p.add_argument_group("a collection from separate files (COLLECTION is -)")
    g.add_argument("--documents", help="TREC <DOC>, TSV or JSONL documents")
    g.add_argument("--topics", help="TREC or TSV topics")
    g.add_argument("--qrels", help="TREC qrels (optional)")


def collection_from_args(args: argparse.Namespace) -> Any:
    """The collection the options name."""
    from rankwise.text.collection import load_collection

    if args.collection == "-":
        if not args.documents or not args.topics:
            raise ValueError("COLLECTION - needs --documents and --topics")
        return load_collection("-", documents=args.documents, topics=args.topics, qrels=args.qrels)
    return load_collection(args.collection)


def register(commands: Any) -> None:
    """Add the ``text`` commands to the CLI."""
    text = commands.add_parser(
        "text",
        help="text ranking: BM25 and dense first stages, reranking, the cross-validated pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = text.add_subparsers(dest="text_command", metavar="ACTION", required=True)

    index = sub.add_parser("index", help="build a BM25 index (and passage vectors with --dense)")
    add_collection_options(index)
    index.add_argument("-o", "--output", required=True, help="index folder to write")
    index.add_argument("--k1", type=float, default=1.2)
    index.add_argument("--b", type=float, default=0.75)
    index.add_argument("--method", default="lucene", help="lucene, robertson, atire, bm25l, bm25+")
    index.add_argument("--stemmer", default="english", help="Snowball stemmer, or none")
    index.add_argument("--dense", action="store_true", help="also cache the passage vectors")
    index.add_argument(
        "--model", default="default", help="encoder folder (default: all-MiniLM-L6-v2)"
    )
    index.set_defaults(handler=run_index)

    search = sub.add_parser("search", help="retrieve with an index: a TREC run per topic")
    search.add_argument("index", help="folder written by 'rankwise text index'")
    add_collection_options(search)
    search.add_argument("-o", "--output", required=True, help="TREC run to write")
    search.add_argument("-k", "--depth", type=int, default=100, help="documents per query")
    search.add_argument(
        "--dense", action="store_true", help="dense retrieval (needs index --dense)"
    )
    search.set_defaults(handler=run_search)

    rerank = sub.add_parser(
        "rerank", help="rerank a run's candidates: a run plus collection in, a run out"
    )
    add_collection_options(rerank)
    rerank.add_argument("--run", required=True, help="first-stage TREC run to rerank")
    rerank.add_argument("-o", "--output", required=True, help="reranked TREC run to write")
    rerank.add_argument("--depth", type=int, default=100, help="candidates per query")
    rerank.add_argument(
        "--model",
        default="default",
        help="'default' (all-MiniLM-L6-v2 cosine), a model folder, a run directory of "
        "'rankwise train' with a text model, or a folder of 'rankwise text pipeline --save'",
    )
    rerank.add_argument("--batch-size", type=int, default=8)
    rerank.add_argument("--cache", help="folder for cached passage vectors")
    rerank.set_defaults(handler=run_rerank)

    robust = sub.add_parser(
        "robustness",
        help="NDCG@10 of a reranker under query and document perturbations (typos, ...)",
    )
    add_collection_options(robust)
    robust.add_argument(
        "--run", required=True, help="first-stage TREC run whose candidates are reranked"
    )
    robust.add_argument("--model", default="default", help="as for 'rankwise text rerank'")
    robust.add_argument("--depth", type=int, default=100)
    robust.add_argument("--seed", type=int, default=0)
    robust.add_argument("-o", "--output", help="write the report as JSON")
    robust.set_defaults(handler=run_robustness)

    pipe = sub.add_parser("pipeline", help="the cross-validated pipeline (rankwise.text.pipeline)")
    add_collection_options(pipe)
    pipe.add_argument("--folds", required=True, help="stored folds (cranfield, vaswani, dl19)")
    pipe.add_argument("-o", "--output", required=True, help="TREC run of every test fold")
    pipe.add_argument("--given", help="rerank this given first stage (e.g. bm25 for DL 2019)")
    pipe.add_argument("--epochs", type=int, help="query-encoder epochs (0: zero-shot only)")
    pipe.add_argument("--cache", help="folder for cached passage vectors")
    pipe.add_argument("--save", help="also fit on every query and save the pipeline here")
    pipe.set_defaults(handler=run_pipeline)


def _report(console: Console, run: Any, collection: Any, what: str) -> None:
    from rankwise.text.pipeline import evaluate_ndcg10

    if collection.qrels:
        value = evaluate_ndcg10(run, collection.qrels)
        console.print(
            escape(
                f"{what}: NDCG@10 {value:.4f} [trec_eval ndcg_cut.10: linear gain, ties by docid]"
            )
        )


def run_index(args: argparse.Namespace) -> int:
    """Run ``rankwise text index``."""
    from rankwise.text.bm25 import BM25Index

    console = Console(stderr=True)
    collection = collection_from_args(args)
    started = time.perf_counter()
    stemmer = None if args.stemmer == "none" else args.stemmer
    index = BM25Index.build(
        collection.documents, k1=args.k1, b=args.b, method=args.method, stemmer=stemmer
    )
    out = Path(args.output)
    index.save(out / "bm25")
    info = {"collection": str(args.collection), "documents": len(collection.documents)}
    if args.dense:
        from rankwise.text.embeddings import EmbeddingStore
        from rankwise.text.encoders import TextEncoder

        encoder = TextEncoder(args.model)
        EmbeddingStore.build(encoder, collection.documents, out / "vectors", progress=True)
        info["model"] = args.model
    (out / "index.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    console.print(
        escape(
            f"indexed {len(collection.documents):,} documents into {out} in "
            f"{time.perf_counter() - started:.1f} s"
        )
    )
    return 0


def run_search(args: argparse.Namespace) -> int:
    """Run ``rankwise text search``."""
    from rankwise.runs.trec import write_trec_run
    from rankwise.text.bm25 import BM25Index

    console = Console(stderr=True)
    collection = collection_from_args(args)
    root = Path(args.index)
    if args.dense:
        from rankwise.text.embeddings import EmbeddingStore, dense_search
        from rankwise.text.encoders import TextEncoder

        info = json.loads((root / "index.json").read_text(encoding="utf-8"))
        if "model" not in info:
            raise ValueError(
                f"{root} has no passage vectors: build it with 'rankwise text index --dense'"
            )
        run = dense_search(
            TextEncoder(info["model"]),
            EmbeddingStore.open(root / "vectors"),
            collection.queries,
            k=args.depth,
        )
    else:
        run = BM25Index.load(root / "bm25").search(collection.queries, k=args.depth)
    write_trec_run(run, args.output)
    console.print(
        escape(f"wrote {len(run):,} lines for {len(collection.queries)} topics to {args.output}")
    )
    _report(console, run, collection, "dense" if args.dense else "bm25")
    return 0


def run_rerank(args: argparse.Namespace) -> int:
    """Run ``rankwise text rerank``."""
    from rankwise.runs.trec import read_trec_run, write_trec_run
    from rankwise.text.lists import candidate_lists, first_stage_scores

    console = Console(stderr=True)
    collection = collection_from_args(args)
    first = read_trec_run(args.run)
    queries = {q: collection.queries[q] for q in first.queries() if q in collection.queries}
    missing = [q for q in first.queries() if q not in collection.queries]
    if missing:
        raise ValueError(
            f"{args.run}: {len(missing)} run queries have no topic text, e.g. {missing[:3]}"
        )
    started = time.perf_counter()
    model_path = Path(args.model)
    if (model_path / "pipeline.json").is_file():
        from rankwise.text.pipeline import TextPipeline

        pipeline = TextPipeline.load(
            model_path, collection.documents, cache_dir=args.cache, progress=True
        )
        pipeline.settings.candidates = "given"
        pipeline.settings.depth = args.depth
        run = pipeline.run(queries, given=first, tag="rankwise")
    else:
        from rankwise.text.rerank import rerank

        model, store = _reranker(args, collection)
        cands = candidate_lists([first], list(queries), depth=args.depth)
        run = rerank(
            model,
            queries,
            cands,
            collection.documents,
            store=store,
            first_stage=first_stage_scores(first),
            batch_size=args.batch_size,
        )
    seconds = time.perf_counter() - started
    write_trec_run(run, args.output)
    console.print(
        escape(
            f"reranked {len(run):,} candidates of {len(queries)} queries in {seconds:.1f} s "
            f"({len(run) / max(seconds, 1e-9):.0f} passages/s) -> {args.output}"
        )
    )
    _report(console, first, collection, "first stage")
    _report(console, run, collection, "reranked")
    return 0


def _load_model(name: str) -> Any:
    """The text model ``--model`` names: ``default`` or a model folder (a bi-encoder),
    or a run directory of a trained text model."""
    from rankwise.text.models import BiEncoder
    from rankwise.train.predict import load_text_ranker

    path = Path(name)
    if name == "default" or (path / "config.json").is_file():
        return BiEncoder(name).eval()
    return load_text_ranker(path)


def _passage_vectors(model: Any, documents: dict[str, str], cache: str | None) -> Any:
    """Passage vectors for a bi-encoder or list reranker (None for other models); frozen
    passages are the base model's vectors (the trained weights are the query side's)."""
    from rankwise.text.embeddings import EmbeddingStore
    from rankwise.text.models import BiEncoder, build_text_model, needs_passage_vectors

    if not (isinstance(model, BiEncoder) or needs_passage_vectors(model)):
        return None
    encoder: Any = (
        build_text_model(model.config).encoder if needs_passage_vectors(model) else model.encoder
    )
    if cache:
        return EmbeddingStore.cached(encoder, documents, cache, progress=True)
    return EmbeddingStore.build(encoder, documents, progress=True)


def _reranker(args: argparse.Namespace, collection: Any) -> tuple[Any, Any]:
    """The text model ``--model`` names, and its passage vectors when it needs them."""
    model = _load_model(args.model)
    return model, _passage_vectors(model, collection.documents, args.cache)


def run_robustness(args: argparse.Namespace) -> int:
    """Run ``rankwise text robustness``."""
    from rankwise.runs.trec import read_trec_run
    from rankwise.text.lists import candidate_lists, first_stage_scores
    from rankwise.text.rerank import rerank
    from rankwise.text.robustness import robustness_report

    console = Console(stderr=True)
    collection = collection_from_args(args)
    first = read_trec_run(args.run)
    queries = {q: collection.queries[q] for q in first.queries() if q in collection.queries}
    cands = candidate_lists([first], list(queries), depth=args.depth)
    pool = sorted({d for docs in cands.values() for d in docs})
    model = _load_model(args.model)
    scores = first_stage_scores(first)

    def rank(qs: Mapping[str, str], documents: Mapping[str, str]) -> Any:
        texts = {d: documents[d] for d in pool}  # a reranker reads only the candidates
        store = _passage_vectors(model, texts, None)
        return rerank(model, qs, cands, texts, store=store, first_stage=scores)

    report = robustness_report(
        rank,
        queries,
        collection.documents,
        collection.qrels,
        seed=args.seed,
        log=lambda m: console.print(escape(m)),
    )
    print(report.table())
    if args.output:
        Path(args.output).write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    return 0


def run_pipeline(args: argparse.Namespace) -> int:
    """Run ``rankwise text pipeline``."""
    from rankwise.runs.trec import write_trec_run
    from rankwise.text.folds import fold_split, stored_folds
    from rankwise.text.pipeline import PipelineSettings, TextPipeline, cross_validate

    console = Console(stderr=True)
    collection = collection_from_args(args)
    settings = PipelineSettings(candidates="given" if args.given else "union")
    if args.epochs is not None:
        settings.epochs = args.epochs
    folds = stored_folds(args.folds)
    run, choices = cross_validate(
        collection,
        folds,
        settings,
        given=args.given,
        cache_dir=args.cache,
        progress=True,
        log=lambda m: console.print(escape(m)),
    )
    write_trec_run(run, args.output)
    _report(console, run, collection, f"{len(folds)}-fold cross-validated pipeline")
    if args.save:
        given = collection.runs[args.given] if args.given else None
        pipeline = TextPipeline(collection.documents, settings, cache_dir=args.cache, progress=True)
        train, valid, _ = fold_split(folds, 0)
        test = folds[0]
        # the saved pipeline trains on four folds and chooses on the fifth
        pipeline.fit(collection.subset(train + list(test)), collection.subset(valid), given=given)
        pipeline.save(args.save)
        console.print(escape(f"saved the pipeline to {args.save}"))
    del choices
    return 0
