"""Running a config end to end: build, train (or fit a GBDT), evaluate on the test split,
write the run directory (:mod:`rankwise.train.rundir`).

Objects come from :mod:`rankwise.train.build`; this module only sequences them: the
feature transform is fitted on the training split, a neural ranker (or each member of a
seed ensemble) is trained by the :class:`~rankwise.train.trainer.Trainer` with the best
epoch's weights restored, and the final model's test metrics are computed with rankwise's
metrics.

Under ``torchrun`` (:mod:`rankwise.distributed`) every process builds the same data and
model and trains its share of each global batch; only rank 0 prepares and writes the
run directory (config, logs, checkpoints, test results), and the other processes stop
after training. GBDT runs train in one process and say so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from rankwise.data.ranking_data import RankingData
from rankwise.data.transforms import FeatureTransform
from rankwise.distributed import (
    DistributedSession,
    broadcast_object,
    is_main_process,
    world_size,
)
from rankwise.errors import ConfigError, RankwiseError
from rankwise.metrics.evaluation import evaluate_scores
from rankwise.models import GBDT_MODELS
from rankwise.models.ensemble import ScoreEnsemble
from rankwise.train.build import (
    build_data,
    build_feature_transform,
    build_gbdt,
    build_model,
    build_trainer,
    monitor,
    resolve_device,
    streams_training_data,
    validation_metrics,
)
from rankwise.train.checkpoint import Checkpoint
from rankwise.train.config import RunConfig, dump_config
from rankwise.train.distill import teacher_scores
from rankwise.train.predict import predict_scores
from rankwise.train.rundir import RunDirectory
from rankwise.train.trainer import TrainResult


@dataclass
class RunSummary:
    """What a finished run reports."""

    run_dir: Path
    test: dict[str, float] = field(default_factory=dict)
    conventions: dict[str, str] = field(default_factory=dict)
    best_epoch: int | None = None
    best_valid: float | None = None
    seconds: float = 0.0
    model: str = ""

    def record(self, name: str) -> dict[str, Any]:
        """What ``summary.json`` holds for the run ``name``."""
        return {
            "name": name,
            "model": self.model,
            "test": self.test,
            "conventions": self.conventions,
            "best_epoch": self.best_epoch,
            "best_valid": self.best_valid,
            "seconds": self.seconds,
        }


def _valid_value(config: RunConfig, valid: RankingData, scores: npt.ArrayLike) -> float:
    """The model-selection value (early stopping's metric, else the first) on ``valid``."""
    key = monitor(config)
    if key == "loss":
        key = config.metrics[0]
    wanted = config.metrics if key in config.metrics else [*config.metrics, key]
    return evaluate_scores(valid, scores, wanted).means()[key]


def _train_member(
    config: RunConfig,
    seed: int,
    run_dir: RunDirectory,
    train: RankingData,
    valid: RankingData | None,
    device: torch.device,
    static: dict[str, Any],
    console: Console,
    resume: bool,
    stop_after: int | None,
    transform: FeatureTransform | None = None,
    teacher: npt.NDArray[np.float32] | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Build and train one neural ranker (one ensemble member) into ``run_dir``; the
    returned model has the best epoch's weights."""
    torch.manual_seed(seed)
    model = build_model(config, train.num_features)
    trainer = build_trainer(
        config,
        model,
        train,
        valid,
        run_dir,
        seed=seed,
        device=device,
        static=static,
        console=console,
        stop_after=stop_after,
        transform=transform if streams_training_data(config) else None,
        teacher=teacher,
    )
    can_resume = resume and run_dir.last_checkpoint.exists()
    result = trainer.fit(resume_from=run_dir.last_checkpoint if can_resume else None)
    trainer.load_best()
    return trainer.eval_model, result


def _ensemble(
    config: RunConfig,
    trained: list[tuple[nn.Module, TrainResult]],
    train: RankingData,
    device: torch.device,
    run_dir: RunDirectory,
    static: dict[str, Any],
) -> ScoreEnsemble:
    """Combine trained members; write the ensemble's checkpoint (``best.pt``)."""
    members: list[nn.Module] = []
    means: list[float] = []
    stds: list[float] = []
    states: list[dict[str, Any]] = []
    for net, result in trained:
        scores = predict_scores(net, train, batch_size=config.data.eval_batch_size, device=device)
        members.append(net)
        means.append(float(scores.mean()))
        stds.append(float(scores.std()))
        states.append(
            {
                "model_config": getattr(net, "config", None),
                "model_state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "best_epoch": result.best_epoch,
            }
        )
    Checkpoint(
        kind="ensemble",
        members=states,
        means=means,
        stds=stds,
        model_config=getattr(trained[0][0], "config", None),
        seed=config.seed,
        **static,
    ).save(run_dir.best_checkpoint)
    return ScoreEnsemble(members, means, stds)


def run_experiment(
    config: RunConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    console: Console | None = None,
    stop_after: int | None = None,
) -> RunSummary:
    """Train and evaluate what ``config`` describes (module docstring); ``stop_after``
    interrupts every member after that many epochs of this call (tests of resume)."""
    started = time.perf_counter()
    with DistributedSession(resolve_device(config.device)) as session:
        main = is_main_process()
        if world_size() > 1:
            _check_distributable(config)
        console = console or Console()
        if not main:
            console = Console(quiet=True)
        run_dir = RunDirectory(config.run_dir)
        changes: dict[str, Any] = {}
        new = False
        failure: str | None = None
        if main:
            try:
                if resume:
                    changes = run_dir.check_resume(config.model_dump(mode="json"))
                new = run_dir.prepare(resume=resume, overwrite=overwrite)
            except RankwiseError as exc:
                failure = str(exc)
                if world_size() == 1:
                    raise
        # the other processes learn whether rank 0 could prepare the run directory
        failure = broadcast_object(failure)
        if failure is not None:
            raise ConfigError(failure)
        try:
            return _run(
                config, run_dir, resume, changes, console, started, stop_after, session.device
            )
        except BaseException:
            if new:
                run_dir.discard_if_unused()
            raise


def _check_distributable(config: RunConfig) -> None:
    """A config that cannot train on several processes fails on every one, at once."""
    if config.model.name in GBDT_MODELS:
        raise ConfigError(
            f"model {config.model.name!r} is a GBDT: it trains in one process; run "
            "`rankwise train` without torchrun"
        )


def _run_text(
    config: RunConfig,
    run_dir: RunDirectory,
    resume: bool,
    console: Console,
    started: float,
    stop_after: int | None,
) -> RunSummary:
    from rankwise.train.text_run import run_text_experiment

    out = run_text_experiment(
        config, run_dir, resume=resume, console=console, stop_after=stop_after
    )
    summary = RunSummary(run_dir=run_dir.path, model=config.model.name)
    summary.best_epoch, summary.best_valid = out["best_epoch"], out["best_valid"]
    summary.test = out.get("test", {})
    summary.conventions = out.get("conventions", {})
    summary.seconds = time.perf_counter() - started
    if out["finished"] and is_main_process():
        run_dir.write_summary(summary.record(config.name))
    return summary


def _run(
    config: RunConfig,
    run_dir: RunDirectory,
    resume: bool,
    changes: dict[str, Any],
    console: Console,
    started: float,
    stop_after: int | None,
    device: torch.device,
) -> RunSummary:
    main = is_main_process()
    if resume and main:
        run_dir.record_resume(changes)
        for key, (old, new) in changes.items():
            console.print(escape(f"resume: {key} changed from {old!r} to {new!r}"))
    if main:
        run_dir.write_config(dump_config(config))
    if config.data.text is not None:
        return _run_text(config, run_dir, resume, console, started, stop_after)
    torch.manual_seed(config.seed)

    data = build_data(config)
    transform = build_feature_transform(config)
    if transform is not None:
        transform.fit(data.splits.train)

    def prepare(d: RankingData | None) -> RankingData | None:
        return transform.transform(d) if transform is not None and d is not None else d

    train = prepare(data.splits.train)
    assert train is not None
    valid, test = prepare(data.splits.valid), prepare(data.splits.test)
    train_queries = train.num_queries
    if streams_training_data(config):
        from rankwise.data.streaming import stream_queries

        assert config.data.train is not None
        train_queries = stream_queries(config.data.train)
    console.print(
        f"[bold]{config.name}[/]: {config.model.name} on {data.source} — "
        f"{train_queries} train / {valid.num_queries if valid else 0} valid / "
        f"{test.num_queries if test else 0} test queries, {train.num_features} features, {device}"
        + (f", {world_size()} processes" if world_size() > 1 else "")
    )
    static: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "transform": transform.state_dict() if transform is not None else None,
        "metrics": validation_metrics(config),
    }
    summary = RunSummary(run_dir=run_dir.path, model=config.model.name)

    if config.model.name in GBDT_MODELS:
        gbdt = build_gbdt(config)
        gbdt.fit(train, valid, log=console.print)
        Checkpoint(
            kind="gbdt", gbdt_state=gbdt.state, model_config=gbdt.config, seed=config.seed, **static
        ).save(run_dir.best_checkpoint)

        def score(split: RankingData) -> npt.NDArray[np.float64]:
            return gbdt.predict(split)

        if valid is not None:
            summary.best_valid = _valid_value(config, valid, gbdt.predict(valid))
    else:
        teacher = None
        if config.training.distill is not None:
            d = config.training.distill
            console.print(
                f"distillation: out-of-fold {d.teacher.name} teacher over {d.folds} parts "
                f"of the training queries, PLD weight {d.weight}"
            )
            teacher = teacher_scores(
                train,
                valid,
                {"name": d.teacher.name, "params": dict(d.teacher.params)},
                folds=d.folds,
                repeats=d.repeats,
                seed=config.seed,
                log=console.print,
            )
        members = config.training.ensemble
        trained: list[tuple[nn.Module, TrainResult]] = []
        for member in range(members):
            member_dir = run_dir if members == 1 else run_dir.member(member)
            net, result = _train_member(
                config,
                config.seed + member,
                member_dir,
                train,
                valid,
                device,
                static,
                console,
                resume,
                stop_after,
                transform,
                teacher,
            )
            if members > 1:
                console.print(f"member {member + 1}/{members}: best epoch {result.best_epoch}")
            if stop_after is not None and not result.finished:
                summary.seconds = time.perf_counter() - started
                return summary  # interrupted on purpose: no test evaluation yet
            trained.append((net, result))
        if not main:  # rank 0 evaluates the test split and writes the results
            summary.seconds = time.perf_counter() - started
            return summary
        if members == 1:
            model, result = trained[0]
            summary.best_epoch, summary.best_valid = result.best_epoch, result.best_value
        else:
            model = _ensemble(config, trained, train, device, run_dir, static)
            if valid is not None:
                valid_scores = predict_scores(
                    model, valid, batch_size=config.data.eval_batch_size, device=device
                )
                summary.best_valid = _valid_value(config, valid, valid_scores)

        def score(split: RankingData) -> npt.NDArray[np.float64]:
            return predict_scores(
                model, split, batch_size=config.data.eval_batch_size, device=device
            )

    if test is not None:
        evaluation = evaluate_scores(test, score(test), config.metrics)
        run_dir.write_test_results(
            evaluation,
            {
                "name": config.name,
                "model": config.model.name,
                "loss": config.loss.name if config.model.name not in GBDT_MODELS else None,
                "best_epoch": summary.best_epoch,
                "best_valid": summary.best_valid,
                "data": data.source,
            },
        )
        summary.test = evaluation.means()
        summary.conventions = evaluation.conventions()
    summary.seconds = time.perf_counter() - started
    run_dir.write_summary(summary.record(config.name))
    return summary
