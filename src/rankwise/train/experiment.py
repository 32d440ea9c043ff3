"""From a validated :class:`RunConfig` to a finished run directory.

The only place (with the CLI) that reads configuration: it builds the data, transform,
model, loss, optimiser, scheduler and loaders, hands them to :class:`Trainer` (or fits
a GBDT baseline), evaluates the best model on the test split with rankwise metrics and
writes the run directory:

- ``config.yaml`` (resolved: defaults filled in), ``versions.json``;
- ``metrics.csv``, ``metrics.jsonl``, ``tensorboard/`` (per epoch, neural models);
- ``checkpoints/last.pt``, ``checkpoints/best.pt``;
- ``test-metrics.json`` (means, conventions, counts) and ``test-per-query.tsv``.
"""

from __future__ import annotations

import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import nn

from rankwise._version import __version__
from rankwise.data.dataset import make_loader
from rankwise.data.formats import load as load_data
from rankwise.data.letor import load_letor_fold
from rankwise.data.ranking_data import RankingData
from rankwise.data.synthetic import make_synthetic
from rankwise.data.transforms import FeatureTransform, build_transform
from rankwise.errors import RankwiseError
from rankwise.metrics.runs import Evaluation, evaluate_scores
from rankwise.models import GBDT_MODELS, MODELS
from rankwise.models.ensemble import ScoreEnsemble
from rankwise.train.checkpoint import save_checkpoint
from rankwise.train.components import OPTIMIZERS, SCHEDULERS, build_loss_module
from rankwise.train.config import RunConfig, dump_config
from rankwise.train.logs import write_json
from rankwise.train.predict import predict_scores
from rankwise.train.trainer import EarlyStopping, Trainer


class RunDirectoryError(RankwiseError):
    """The run directory exists (and neither resume nor overwrite was asked for)."""


@dataclass
class Splits:
    train: RankingData
    valid: RankingData | None
    test: RankingData | None
    source: str


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


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RankwiseError(f"device {name!r} was asked for but no CUDA device is available")
    return device


def load_splits(config: RunConfig) -> Splits:
    """The train/valid/test data a config names."""
    d = config.data
    if d.synthetic is not None:
        s = d.synthetic
        data = make_synthetic(s.num_queries, s.num_features, seed=s.seed, **s.options)
        order = np.random.default_rng(s.seed).permutation(data.num_queries)
        n_valid = max(1, round(s.valid_fraction * data.num_queries))
        n_test = max(1, round(s.test_fraction * data.num_queries))
        if n_valid + n_test >= data.num_queries:
            raise RankwiseError(
                "data.synthetic: the valid and test fractions leave no training queries"
            )
        valid_idx = np.sort(order[:n_valid])
        test_idx = np.sort(order[n_valid : n_valid + n_test])
        train_idx = np.sort(order[n_valid + n_test :])
        return Splits(
            data.select_queries(train_idx),
            data.select_queries(valid_idx),
            data.select_queries(test_idx),
            f"synthetic({s.num_queries} queries, seed {s.seed})",
        )
    if d.letor is not None:
        fold = load_letor_fold(d.letor.root, d.letor.fold, **d.read_options)
        return Splits(fold.train, fold.vali, fold.test, f"{d.letor.root} fold {d.letor.fold}")
    assert d.train is not None
    train = load_data(d.train, **d.read_options)
    width = {"num_features": train.num_features} if "num_features" not in d.read_options else {}
    options = {**d.read_options, **width} if not d.train.endswith(".parquet") else d.read_options
    valid = load_data(d.valid, **options) if d.valid else None
    test = load_data(d.test, **options) if d.test else None
    return Splits(train, valid, test, d.train)


def versions() -> dict[str, Any]:
    """Versions of everything that can change a result."""
    out: dict[str, Any] = {
        "rankwise": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device_count": torch.cuda.device_count(),
    }
    for pkg in ("numpy", "pyarrow", "pydantic", "lightgbm", "xgboost", "xgboost-cpu"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _prepare_run_dir(config: RunConfig, resume: bool, overwrite: bool) -> Path:
    run_dir = config.run_dir
    if run_dir.exists() and any(run_dir.iterdir()) and not resume:
        if not overwrite:
            raise RunDirectoryError(
                f"run directory {run_dir} already exists: resume it with --resume, replace "
                "it with --overwrite, or choose another name (--set name=...)"
            )
        shutil.rmtree(run_dir)
    if resume and not (run_dir / "checkpoints" / "last.pt").exists():
        raise RunDirectoryError(f"cannot resume: {run_dir}/checkpoints/last.pt does not exist")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _write_test_results(run_dir: Path, evaluation: Evaluation, extra: dict[str, Any]) -> None:
    write_json(run_dir / "test-metrics.json", {**evaluation.to_dict(), **extra})
    keys = list(evaluation.per_query)
    lines = ["qid\t" + "\t".join(keys)]
    for i, q in enumerate(evaluation.qids):
        lines.append(q + "\t" + "\t".join(f"{evaluation.per_query[k][i]:.10g}" for k in keys))
    (run_dir / "test-per-query.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _train_member(
    config: RunConfig,
    seed: int,
    run_dir: Path,
    train: RankingData,
    valid: RankingData | None,
    device: torch.device,
    extra: dict[str, Any],
    console: Console,
    resume: bool,
    stop_after: int | None,
) -> tuple[Trainer, Any]:
    """Build and train one neural ranker (one ensemble member) into ``run_dir``."""
    torch.manual_seed(seed)
    model = MODELS.build(config.model.name, config.model.params, num_features=train.num_features)
    loss = build_loss_module(config.loss.name, config.loss.params)
    optimizer = OPTIMIZERS.build(
        config.optimizer.name, config.optimizer.params, params=model.parameters()
    )
    scheduler = None
    if config.scheduler is not None:
        scheduler = SCHEDULERS.build(
            config.scheduler.name, config.scheduler.params, optimizer=optimizer
        )
    generator = torch.Generator().manual_seed(seed)
    train_loader = make_loader(
        train,
        config.data.batch_size,
        shuffle=True,
        generator=generator,
        max_list_length=config.data.max_list_length,
        num_workers=config.data.num_workers,
    )
    valid_loader = make_loader(valid, config.data.eval_batch_size) if valid is not None else None
    es = config.training.early_stopping
    trainer = Trainer(
        model,
        loss,
        optimizer,
        train_loader,
        valid_loader=valid_loader,
        metrics=config.metrics,
        scheduler=scheduler,
        scheduler_interval=config.training.scheduler_interval,
        epochs=config.training.epochs,
        early_stopping=(
            EarlyStopping(es.metric, es.patience, es.min_delta)
            if es is not None and valid_loader is not None
            else None
        ),
        grad_clip=config.training.grad_clip,
        amp=config.training.amp,
        device=device,
        run_dir=run_dir,
        generator=generator,
        checkpoint_extra={"kind": "neural", "seed": seed, **extra},
        progress=config.training.progress,
        console=console,
        tensorboard=config.training.tensorboard,
        stop_after=stop_after,
        ema_decay=config.training.ema_decay,
    )
    can_resume = resume and (run_dir / "checkpoints" / "last.pt").exists()
    result = trainer.fit(resume=can_resume)
    trainer.load_best()
    return trainer, result


def _ensemble(
    config: RunConfig,
    trained: list[tuple[Trainer, Any]],
    train: RankingData,
    valid: RankingData | None,
    device: torch.device,
    run_dir: Path,
    extra: dict[str, Any],
) -> ScoreEnsemble:
    """Combine trained members; write the ensemble's checkpoint (``best.pt``)."""
    members, means, stds, states = [], [], [], []
    for trainer, result in trained:
        net = trainer.eval_model
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
    ensemble = ScoreEnsemble(members, means, stds)
    save_checkpoint(
        run_dir / "checkpoints" / "best.pt",
        {
            "kind": "ensemble",
            "members": states,
            "means": means,
            "stds": stds,
            "model_config": states[0]["model_config"],
            "metrics": config.metrics,
            **extra,
        },
    )
    return ensemble


def _valid_value(config: RunConfig, valid: RankingData, scores: Any) -> float:
    """The model-selection metric (early stopping's, else the first) on ``valid``."""
    es = config.training.early_stopping
    key = es.metric if es is not None and es.metric != "loss" else config.metrics[0]
    wanted = config.metrics if key in config.metrics else [*config.metrics, key]
    return evaluate_scores(valid, scores, wanted).means()[key]


def run_experiment(
    config: RunConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    console: Console | None = None,
    stop_after: int | None = None,
) -> RunSummary:
    """Train and evaluate what ``config`` describes; see the module docstring."""
    console = console or Console()
    started = time.perf_counter()
    run_dir = _prepare_run_dir(config, resume, overwrite)
    (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    write_json(run_dir / "versions.json", versions())
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)

    splits = load_splits(config)
    transform: FeatureTransform | None = None
    if config.data.transform:
        specs = [t.model_dump() for t in config.data.transform]
        transform = build_transform(specs if len(specs) > 1 else specs[0])
        transform.fit(splits.train)
    prep = (lambda d: transform.transform(d)) if transform is not None else (lambda d: d)
    train = prep(splits.train)
    valid = prep(splits.valid) if splits.valid is not None else None
    test = prep(splits.test) if splits.test is not None else None
    console.print(
        f"[bold]{config.name}[/]: {config.model.name} on {splits.source} — "
        f"{train.num_queries} train / {valid.num_queries if valid else 0} valid / "
        f"{test.num_queries if test else 0} test queries, {train.num_features} features, {device}"
    )
    extra = {
        "config": config.model_dump(mode="json"),
        "transform": transform.state_dict() if transform is not None else None,
    }
    summary = RunSummary(run_dir=run_dir, model=config.model.name)

    if config.model.name in GBDT_MODELS:
        gbdt = GBDT_MODELS.build(config.model.name, {"seed": config.seed, **config.model.params})
        gbdt.fit(train, valid, log=console.print)
        save_checkpoint(
            run_dir / "checkpoints" / "best.pt",
            {
                "kind": "gbdt",
                "gbdt_state": gbdt.state,
                "model_config": gbdt.config,
                "metrics": config.metrics,
                **extra,
            },
        )
        score_test = gbdt.predict
        if valid is not None:
            summary.best_valid = _valid_value(config, valid, gbdt.predict(valid))
    else:
        members = config.training.ensemble
        trained: list[tuple[Trainer, Any]] = []
        for member in range(members):
            member_dir = run_dir if members == 1 else run_dir / "members" / str(member)
            trainer, result = _train_member(
                config,
                config.seed + member,
                member_dir,
                train,
                valid,
                device,
                extra,
                console,
                resume,
                stop_after,
            )
            if members > 1:
                console.print(f"member {member + 1}/{members}: best epoch {result.best_epoch}")
            if stop_after is not None and not result.finished:
                summary.seconds = time.perf_counter() - started
                return summary  # interrupted on purpose: no test evaluation yet
            trained.append((trainer, result))
        if members == 1:
            trainer, result = trained[0]
            summary.best_epoch, summary.best_valid = result.best_epoch, result.best_value
            net: nn.Module = trainer.eval_model
        else:
            net = _ensemble(config, trained, train, valid, device, run_dir, extra)
            if valid is not None:
                scores = predict_scores(
                    net, valid, batch_size=config.data.eval_batch_size, device=device
                )
                summary.best_valid = _valid_value(config, valid, scores)

        def score_test(data: RankingData) -> Any:
            return predict_scores(net, data, batch_size=config.data.eval_batch_size, device=device)

    if test is not None:
        evaluation = evaluate_scores(test, score_test(test), config.metrics)
        _write_test_results(
            run_dir,
            evaluation,
            {
                "name": config.name,
                "model": config.model.name,
                "loss": config.loss.name if config.model.name not in GBDT_MODELS else None,
                "best_epoch": summary.best_epoch,
                "best_valid": summary.best_valid,
                "data": splits.source,
            },
        )
        summary.test = evaluation.means()
        summary.conventions = evaluation.conventions()
    summary.seconds = time.perf_counter() - started
    write_json(
        run_dir / "summary.json",
        {
            "name": config.name,
            "model": config.model.name,
            "test": summary.test,
            "conventions": summary.conventions,
            "best_epoch": summary.best_epoch,
            "best_valid": summary.best_valid,
            "seconds": summary.seconds,
        },
    )
    return summary
