"""A config's text ranker trained and evaluated end to end (``data.text``; the model a
:mod:`rankwise.text.models` name).

The collection's queries are split by its stored folds; candidates come from the
configured first stage; the model is trained by the same
:class:`~rankwise.train.trainer.Trainer` as every other model (callbacks, checkpoints of
kind ``"text"``, logs, resume), on sampled training lists, validated on the validation
fold's candidate lists, and the best epoch's model reranks the test fold's candidates.
The run directory receives, besides the usual files, ``test-run.trec`` (the reranked
test queries) and ``test-first-stage.trec``; ``test-metrics.json`` is computed from the
run with trec_eval's conventions for judged documents outside the candidates.

Under ``torchrun`` (N processes) every process draws the same training lists, takes its
share of each global batch of ``batch_size * N`` lists
(:class:`~rankwise.data.samplers.DistributedLengthGroupedBatchSampler`, the same
sampler a single process uses with N = 1) and the loss is the global batch's; the
validation lists are shared out and their per-query values gathered; rank 0 alone
builds the cached passage vectors (the others wait, then open them), writes the run
directory and reranks the test queries.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch.utils.data import DataLoader

from rankwise.data.samplers import DistributedLengthGroupedBatchSampler
from rankwise.distributed import broadcast_object, is_main_process, world_size
from rankwise.distributed import rank as process_rank
from rankwise.metrics.spec import parse_metrics
from rankwise.runs.evaluation import evaluate_run
from rankwise.runs.trec import TrecRun, write_trec_run
from rankwise.text.bm25 import BM25Index
from rankwise.text.collection import TextCollection, load_collection
from rankwise.text.embeddings import EmbeddingStore, dense_search
from rankwise.text.folds import STORED, fold_split, load_folds
from rankwise.text.lists import (
    Curriculum,
    TextListCollator,
    TrainingLists,
    candidate_lists,
    difficulty_from_run,
    first_stage_scores,
    rerank_lists,
)
from rankwise.text.models import TextRanker, build_text_model, needs_passage_vectors
from rankwise.text.rerank import rerank
from rankwise.train.build import (
    build_callbacks,
    build_loss,
    build_optimizer,
    resolve_device,
    trainer_for,
    validation_metrics,
)
from rankwise.train.config import RunConfig, TextData
from rankwise.train.rundir import RunDirectory
from rankwise.train.tasks import TextRankingTask


def first_stage(spec: TextData, collection: TextCollection, qids: list[str]) -> TrecRun:
    """The configured first stage's run over ``qids``."""
    queries = {q: collection.queries[q] for q in qids}
    if spec.first_stage == "given":
        if spec.given not in collection.runs:
            raise ValueError(
                f"data.text.given: the collection has no run {spec.given!r} "
                f"(it has: {', '.join(collection.runs) or 'none'})"
            )
        return collection.runs[spec.given].select(qids)
    bm25 = BM25Index.build(collection.documents).search(queries, k=spec.depth)
    if spec.first_stage == "bm25":
        return bm25
    from rankwise.text.encoders import TextEncoder

    encoder = TextEncoder("default")
    store = EmbeddingStore.build(encoder, collection.documents, progress=True)
    dense = dense_search(encoder, store, queries, k=spec.depth)
    cands = candidate_lists([bm25, dense], qids, depth=spec.depth)
    rows = [(q, d) for q in qids for d in cands[q]]
    import numpy as np

    return TrecRun(
        np.asarray([q for q, _ in rows], dtype=np.str_),
        np.asarray([d for _, d in rows], dtype=np.str_),
        np.asarray([-float(i) for q in qids for i in range(len(cands[q]))], dtype=np.float64),
        np.asarray([i + 1 for q in qids for i in range(len(cands[q]))], dtype=np.int64),
        "union",
    )


def run_text_experiment(
    config: RunConfig,
    run_dir: RunDirectory,
    *,
    resume: bool,
    console: Console,
    stop_after: int | None,
) -> dict[str, Any]:
    """Train and evaluate the config's text ranker (module docstring); returns the
    summary fields (``test``, ``conventions``, ``best_epoch``, ``best_valid``,
    ``finished``)."""
    spec = config.data.text
    assert spec is not None
    device = resolve_device(config.device)
    collection = load_collection(spec.collection)
    folds_name = spec.folds or collection.name
    if spec.folds is None and folds_name not in STORED:
        raise ValueError(
            f"data.text.folds: no stored folds for {folds_name!r} (stored: "
            f"{', '.join(STORED)}); give a JSON file of folds"
        )
    folds = load_folds(folds_name)
    unknown = [q for f in folds for q in f if q not in collection.queries]
    if unknown:
        raise ValueError(f"data.text.folds: queries {unknown[:5]} are not in {collection.name}")
    if spec.test_fold > len(folds):
        raise ValueError(f"data.text.test_fold: {spec.test_fold} > the {len(folds)} folds")
    train_q, valid_q, test_q = fold_split(folds, spec.test_fold - 1)
    splits = {"train": train_q, "valid": valid_q, "test": test_q}
    every = first_stage(spec, collection, train_q + valid_q + test_q)
    runs = {name: every.select(qids) for name, qids in splits.items()}
    console.print(
        f"[bold]{config.name}[/]: {config.model.name} on {collection.name} "
        f"(fold {spec.test_fold} of {folds_name}) — {len(train_q)} train / {len(valid_q)} valid / "
        f"{len(test_q)} test queries, {spec.first_stage} top {spec.depth}, {device}"
    )
    torch.manual_seed(config.seed)
    model = build_text_model({"name": config.model.name, "params": dict(config.model.params)})
    store = None
    main = is_main_process()
    if needs_passage_vectors(model):
        cache = Path(spec.cache) if spec.cache else run_dir.path / "passage-vectors"
        base: Any = build_text_model(
            {"name": config.model.name, "params": dict(config.model.params)}
        )
        for builder in (True, False):
            # rank 0 builds (or finds) the store; the others wait for it, then open it
            if builder == main:
                store = EmbeddingStore.cached(
                    base.encoder,
                    collection.documents,
                    cache,
                    progress=config.training.progress and main,
                )
            if world_size() > 1 and builder:
                broadcast_object(None)
        del base
    collate = TextListCollator(collection.documents, store)
    cands = {k: candidate_lists([runs[k]], qids, depth=spec.depth) for k, qids in splits.items()}
    curriculum = None
    if spec.curriculum_epochs > 0:
        curriculum = Curriculum(difficulty_from_run(runs["train"]), epochs=spec.curriculum_epochs)
    train = collection.subset(train_q)
    lists = TrainingLists(
        train.queries,
        train.qrels,
        cands["train"],
        list_size=spec.list_size,
        positives=min(spec.positives, spec.list_size - 1),
        curriculum=curriculum,
        documents=collection.documents,
        first_stage=first_stage_scores(runs["train"]),
        seed=config.seed,
    )
    if lists.skipped:
        console.print(f"{len(lists.skipped)} training queries without a relevant passage left out")
    world, rank = world_size(), process_rank()
    generator = torch.Generator().manual_seed(config.seed)
    # every list has list_size candidates (fewer only where a query has fewer): the
    # length grouping is moot, the sampler gives each process its share of the
    # global batch and reseeds per epoch
    sampler = DistributedLengthGroupedBatchSampler(
        [spec.list_size] * len(lists), config.data.batch_size, world, rank, seed=config.seed
    )
    train_loader = DataLoader(lists, batch_sampler=sampler, collate_fn=collate)
    valid = collection.subset(valid_q)
    valid_lists = rerank_lists(
        valid.queries, cands["valid"], valid.qrels, first_stage_scores(runs["valid"])
    )
    valid_items = [i for i in valid_lists if i.docids]
    valid_loader: DataLoader[Any] = DataLoader(
        # each process validates its share; the task gathers the per-query values
        valid_items[rank::world],  # type: ignore[arg-type]  # a list is a map-style dataset
        batch_size=config.data.eval_batch_size,
        collate_fn=collate,
    )
    loss = build_loss(config)
    optimizer = build_optimizer(config, model)
    static: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "metrics": validation_metrics(config),
    }
    callbacks = build_callbacks(
        config,
        optimizer,
        run_dir,
        static=static,
        seed=config.seed,
        console=console,
        has_valid=bool(valid_items),
        stop_after=stop_after,
        kind="text",
    )
    task = TextRankingTask(loss, validation_metrics(config), lists)
    trainer = trainer_for(
        config,
        model,
        task,
        optimizer,
        train_loader,
        valid_loader if valid_items else None,
        callbacks,
        device=device,
        generator=generator,
    )
    can_resume = resume and run_dir.last_checkpoint.exists()
    result = trainer.fit(resume_from=run_dir.last_checkpoint if can_resume else None)
    out: dict[str, Any] = {
        "best_epoch": result.best_epoch,
        "best_valid": result.best_value,
        "finished": result.finished,
    }
    if not result.finished or not main:
        return out
    trainer.load_best()
    best: TextRanker = trainer.eval_model  # type: ignore[assignment]
    test = collection.subset(test_q)
    started = time.perf_counter()
    reranked = rerank(
        best,
        test.queries,
        cands["test"],
        collection.documents,
        store=store,
        first_stage=first_stage_scores(runs["test"]),
        batch_size=config.data.eval_batch_size,
        device=device,
        tag=config.name,
    )
    seconds = time.perf_counter() - started
    write_trec_run(reranked, run_dir.path / "test-run.trec", tag=config.name)
    write_trec_run(runs["test"], run_dir.path / "test-first-stage.trec", tag=spec.first_stage)
    evaluation = evaluate_run(reranked, test.qrels, parse_metrics(config.metrics))
    run_dir.write_test_results(
        evaluation,
        {
            "name": config.name,
            "model": config.model.name,
            "loss": config.loss.name,
            "best_epoch": result.best_epoch,
            "best_valid": result.best_value,
            "data": f"{collection.name} fold {spec.test_fold}",
            "rerank_seconds": seconds,
            "rerank_passages_per_s": len(reranked) / max(seconds, 1e-9),
        },
    )
    out["test"] = evaluation.means()
    out["conventions"] = evaluation.conventions()
    return out
