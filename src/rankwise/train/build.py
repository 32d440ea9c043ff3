"""From a validated :class:`~rankwise.train.config.RunConfig` to objects: the only code
(with the CLI) that reads configuration.

Components named in a config are built through :func:`rankwise.registry.build`, which
checks their parameters against the target's signature. This module defines the
registries of the torch components a config names (:data:`OPTIMIZERS`,
:data:`SCHEDULERS`); models, losses, transforms and metrics are registered where they are
defined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from rich.console import Console
from torch import nn
from torch.utils.data import DataLoader

from rankwise.data.dataset import RankingCollator, RankingDataset, make_loader
from rankwise.data.formats import load
from rankwise.data.letor import load_letor_fold
from rankwise.data.ranking_data import RankingData
from rankwise.data.samplers import DistributedLengthGroupedBatchSampler
from rankwise.data.splits import Splits, load_splits, split_queries
from rankwise.data.streaming import ShardStream, is_shard_directory, is_stream_source, read_sample
from rankwise.data.synthetic import make_synthetic
from rankwise.data.transforms import FeatureTransform, build_transform
from rankwise.distributed import in_process_group, is_main_process, world_size
from rankwise.distributed import rank as process_rank
from rankwise.errors import ConfigError, RankwiseError, RegistryError
from rankwise.losses import RankingLoss
from rankwise.models import GBDT_MODELS, MODELS, GBDTRanker, RankingModel
from rankwise.registry import Registry, build, did_you_mean, registries
from rankwise.train.callbacks import (
    EMA,
    Callback,
    Checkpointing,
    ConsoleProgress,
    EarlyStopping,
    FileLogger,
    LRScheduler,
    NonFiniteGuard,
    StopAfter,
    TensorBoardLogger,
)
from rankwise.train.config import Component, RunConfig
from rankwise.train.rundir import RunDirectory
from rankwise.train.tasks import ListRankingTask
from rankwise.train.trainer import Trainer

#: The optimisers a config can name (kind ``"optimizer"``).
OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optimizer", supplied=("params",))
for _name, _cls in {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}.items():
    OPTIMIZERS.add(_name, _cls)

#: The learning-rate schedulers a config can name (kind ``"scheduler"``).
SCHEDULERS: Registry[Any] = Registry("scheduler", supplied=("optimizer",))
for _name, _cls in {
    "step": torch.optim.lr_scheduler.StepLR,
    "multistep": torch.optim.lr_scheduler.MultiStepLR,
    "exponential": torch.optim.lr_scheduler.ExponentialLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
    "plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
    "linear": torch.optim.lr_scheduler.LinearLR,
    "onecycle": torch.optim.lr_scheduler.OneCycleLR,
}.items():
    SCHEDULERS.add(_name, _cls)


def model_kind(name: str, where: str = "model") -> str:
    """The registry kind of a config's model name: ``"model"`` (a neural ranker),
    ``"gbdt_model"`` or ``"text_model"``."""
    from rankwise.text.models import TEXT_MODELS

    if name in GBDT_MODELS:
        return "gbdt_model"
    if name in MODELS:
        return "model"
    if name in TEXT_MODELS:
        return "text_model"
    known = [*MODELS.names(), *GBDT_MODELS.names(), *TEXT_MODELS.names()]
    raise RegistryError(
        f"{where}.name: unknown model {name!r}{did_you_mean(name, known)}; "
        f"known: {', '.join(sorted(known))}"
    )


def _spec(component: Component) -> dict[str, Any]:
    return {"name": component.name, "params": dict(component.params)}


def check_components(config: RunConfig) -> None:
    """Check every component a config names against its registry (config validation)."""
    build_check(model_kind(config.model.name), config.model, "model")
    build_check(loss_kind(config), config.loss, "loss")
    build_check("optimizer", config.optimizer, "optimizer")
    if config.scheduler is not None:
        build_check("scheduler", config.scheduler, "scheduler")
    for i, t in enumerate(config.data.transform):
        build_check("transform", t, f"data.transform[{i}]")
    distill = config.training.distill
    if distill is not None:
        where = "training.distill.teacher"
        if model_kind(distill.teacher.name, where) != "gbdt_model":
            raise ConfigError(
                f"{where}.name: the teacher must be a gradient-boosted model "
                f"({', '.join(GBDT_MODELS.names())}), got {distill.teacher.name!r}"
            )
        build_check("gbdt_model", distill.teacher, where)
        if model_kind(config.model.name) != "model":
            raise ConfigError(
                "training.distill: distillation trains a neural feature ranker; "
                f"model {config.model.name!r} is not one"
            )
        if config.data.stream:
            raise ConfigError("training.distill: streamed training data is not supported")


def build_check(kind: str, component: Component, where: str) -> None:
    """Check one component of a config against the registry of ``kind``."""
    registry: Registry[Any] = registries()[kind]
    registry.check(component.name, component.params, where=where)


def build_model(config: RunConfig, num_features: int) -> RankingModel:
    """The config's neural ranker for data with ``num_features`` features."""
    model: RankingModel = build(
        "model", _spec(config.model), where="model", num_features=num_features
    )
    return model


def build_gbdt(config: RunConfig) -> GBDTRanker:
    """The config's tree model (seeded by the run's seed unless the config sets one)."""
    params = {"seed": config.seed, **config.model.params}
    gbdt: GBDTRanker = build("gbdt_model", {"name": config.model.name, "params": params})
    return gbdt


def loss_kind(config: RunConfig) -> str:
    """The registry kind of the config's loss: ``"loss"`` (a list loss), or for a text
    ranker ``"embedding_loss"`` when it names one with in-batch negatives."""
    if config.data.text is not None and config.loss.name in IN_BATCH_TEXT_LOSSES:
        return "embedding_loss"
    return "loss"


def build_loss(config: RunConfig) -> RankingLoss:
    """The config's list loss module; for a text ranker also an embedding loss with
    in-batch negatives (``info_nce``, ``tiled_info_nce``, ``siglip``: bi-encoders)."""
    loss: RankingLoss = build(loss_kind(config), _spec(config.loss), where="loss")
    return loss


#: The embedding losses a text bi-encoder trains with (in-batch negatives).
IN_BATCH_TEXT_LOSSES = ("info_nce", "tiled_info_nce", "siglip")


def build_feature_transform(config: RunConfig) -> FeatureTransform | None:
    """The config's (unfitted) feature transform, or None."""
    if not config.data.transform:
        return None
    specs = [_spec(t) for t in config.data.transform]
    return build_transform(specs if len(specs) > 1 else specs[0])


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; an unavailable CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RankwiseError(f"device {name!r} was asked for but no CUDA device is available")
    return device


@dataclass
class Data:
    """The splits a config names, and where they came from (for messages and reports)."""

    splits: Splits
    source: str


def build_data(config: RunConfig) -> Data:
    """The train/valid/test data a config names (synthetic, a LETOR fold or files)."""
    d = config.data
    if d.synthetic is not None:
        s = d.synthetic
        data = make_synthetic(s.num_queries, s.num_features, seed=s.seed, **s.options)
        splits = split_queries(
            data, valid_fraction=s.valid_fraction, test_fraction=s.test_fraction, seed=s.seed
        )
        return Data(splits, f"synthetic({s.num_queries} queries, seed {s.seed})")
    if d.letor is not None:
        fold = load_letor_fold(d.letor.root, d.letor.fold, **d.read_options)
        return Data(Splits(fold.train, fold.vali, fold.test), f"{d.letor.root} fold {d.letor.fold}")
    assert d.train is not None
    if streams_training_data(config):
        # streamed: the train split here is a sample (the transform is fitted on it, the
        # width read from it); the loader streams every shard (build_loaders)
        sample = read_sample(d.train, d.stream_buffer)
        width = {"num_features": sample.num_features}
        parts = [load(p, **{**d.read_options, **width}) if p else None for p in (d.valid, d.test)]
        return Data(Splits(sample, parts[0], parts[1]), f"{d.train} (streamed)")
    return Data(load_splits(d.train, d.valid, d.test, **d.read_options), d.train)


def streams_training_data(config: RunConfig) -> bool:
    """Whether the config's training data stream: a shard directory, or a binary cache
    directory with ``data.stream: true``.

    Raises:
        ConfigError: ``data.stream`` for training data that are neither.
    """
    d = config.data
    if d.train is None:
        if d.stream:
            raise ConfigError("data.stream: needs data.train (a shard or cache directory)")
        return False
    if is_shard_directory(d.train):
        return True
    if d.stream and not is_stream_source(d.train):
        raise ConfigError(
            f"data.stream: {d.train} is neither a shard directory nor a binary cache "
            "directory (write one with `rankwise data convert IN OUT --shards K` or "
            "`rankwise data convert IN OUT.rwcache`)"
        )
    return d.stream


def build_optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The config's optimiser over ``model``'s parameters."""
    optimizer: torch.optim.Optimizer = build(
        "optimizer", _spec(config.optimizer), where="optimizer", params=model.parameters()
    )
    return optimizer


def build_loaders(
    config: RunConfig,
    train: RankingData,
    valid: RankingData | None,
    generator: torch.Generator,
    *,
    seed: int = 0,
    transform: FeatureTransform | None = None,
    teacher: npt.NDArray[np.float32] | None = None,
) -> tuple[Any, DataLoader[Any] | None]:
    """The shuffled, seeded training loader and the validation loader (every document).

    Under ``torchrun`` (a process group, even of one process): ``data.batch_size`` lists
    per process from a :class:`~rankwise.data.samplers.DistributedLengthGroupedBatchSampler`
    reseeded by ``seed`` + epoch — so ``torchrun --nproc-per-node 1`` with 2b lists
    trains on the batches of 2 processes with b — and each process validates every W-th
    query (the task gathers the per-query values). A shard directory as ``data.train``
    streams (:class:`~rankwise.data.streaming.ShardStream`, each process its own row
    groups) with the fitted ``transform`` applied per row group. ``teacher`` (one score
    per training document) puts teacher scores into the training batches."""
    world, rank = world_size(), process_rank()
    train_loader: Any
    if streams_training_data(config):
        assert config.data.train is not None
        train_loader = ShardStream(
            config.data.train,
            config.data.batch_size,
            buffer_queries=config.data.stream_buffer,
            seed=seed,
            max_list_length=config.data.max_list_length,
            transform=transform,
            cache_check=config.data.read_options.get("cache_check", "full"),
        )
    elif in_process_group():
        sampler = DistributedLengthGroupedBatchSampler(
            train.list_lengths(), config.data.batch_size, world, rank, seed=seed
        )
        # list sampling (max_list_length) differs between processes, by design
        collate = RankingCollator(
            max_list_length=config.data.max_list_length,
            generator=torch.Generator().manual_seed(seed * 7919 + rank),
        )
        train_loader = DataLoader(
            RankingDataset(train, teacher),
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=config.data.num_workers,
        )
    else:
        train_loader = make_loader(
            train,
            config.data.batch_size,
            shuffle=True,
            generator=generator,
            max_list_length=config.data.max_list_length,
            num_workers=config.data.num_workers,
            teacher=teacher,
        )
    if valid is not None and world > 1:
        valid = valid.select_queries(np.arange(rank, valid.num_queries, world))
    valid_loader = make_loader(valid, config.data.eval_batch_size) if valid is not None else None
    return train_loader, valid_loader


def validation_metrics(config: RunConfig) -> list[str]:
    """The config's metrics plus the early-stopping metric (the model-selection value)."""
    metrics = list(config.metrics)
    es = config.training.early_stopping
    if es is not None and es.metric != "loss" and es.metric not in metrics:
        metrics.append(es.metric)
    return metrics


def monitor(config: RunConfig) -> str:
    """The validation value that selects the best epoch: early stopping's, else the first
    metric."""
    es = config.training.early_stopping
    return es.metric if es is not None else config.metrics[0]


#: The feature width ``train --check`` builds a model for when the config does not
#: state the data's width (the data are not read by a check).
CHECK_WIDTH = 16


def check_run(config: RunConfig) -> list[str]:
    """Build every component of ``config`` and take one training step on a tiny random
    batch, without reading data or writing anything: ``train --check``.

    The model, the loss (on a batch with padding and tied labels), the optimiser and the
    scheduler are built with their parameters, so a value that passes the schema but
    that the component rejects (``model.params.dropout: 2``) fails here rather than an
    hour into a run. Returns what was checked, one line each.

    Raises:
        ConfigError: a component fails to build or to run; the message names the
            config key and the component's own error.
    """
    from rankwise.errors import ConfigError

    d = config.data
    width = d.synthetic.num_features if d.synthetic is not None else None
    width = width or d.read_options.get("num_features") or CHECK_WIDTH
    done: list[str] = []

    def attempt(where: str, make: Any) -> Any:
        try:
            return make()
        except (ValueError, TypeError, RuntimeError, KeyError, RankwiseError) as exc:
            raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from None

    if config.model.name in GBDT_MODELS:
        attempt("model", lambda: build_gbdt(config))
        return [f"model {config.model.name} built"]
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    labels = torch.tensor([[2.0, 1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    if model_kind(config.model.name) == "text_model":
        from rankwise.text.lists import TextList, TextListCollator
        from rankwise.text.models import build_text_model, needs_passage_vectors

        spec = {"name": config.model.name, "params": dict(config.model.params)}
        model = attempt("model", lambda: build_text_model(spec))
        docs = {f"p{i}": f"passage number {i} about wings and lift" for i in range(5)}
        items = [
            TextList("q1", "wing lift", list(docs), labels[0].tolist()),
            TextList("q2", "lift", list(docs)[:3], labels[1, :3].tolist()),
        ]
        store = None
        if needs_passage_vectors(model):  # passages come cached
            from rankwise.text.embeddings import EmbeddingStore

            store = EmbeddingStore.build(model.encoder, docs)
        batch = TextListCollator(docs, store)(items)
        model.train()
        scores = attempt("model", lambda: model.score_batch(batch))
        done.append(f"text model {config.model.name} built, scores {tuple(scores.shape)}")
    else:
        model = attempt("model", lambda: build_model(config, int(width)))
        generator = torch.Generator().manual_seed(config.seed)
        features = torch.randn(2, 5, int(width), generator=generator)
        scores = attempt("model", lambda: model(features, mask))
        done.append(
            f"model {config.model.name} built for {width} features, scores {tuple(scores.shape)}"
        )
    loss_fn = attempt("loss", lambda: build_loss(config))
    value = attempt("loss", lambda: loss_fn(scores, labels, mask))
    if not torch.isfinite(value).all():
        raise ConfigError(f"loss: {config.loss.name} gives {value.item()} on a random batch")
    done.append(f"loss {config.loss.name} = {value.item():.4g} on a random batch")
    optimizer = attempt("optimizer", lambda: build_optimizer(config, model))
    attempt("loss", value.backward)
    attempt("optimizer", optimizer.step)
    done.append(f"optimizer {config.optimizer.name}: one step taken")
    if config.scheduler is not None:
        spec = _spec(config.scheduler)
        attempt(
            "scheduler", lambda: build("scheduler", spec, where="scheduler", optimizer=optimizer)
        )
        done.append(f"scheduler {config.scheduler.name} built")
    return done


def build_callbacks(
    config: RunConfig,
    optimizer: torch.optim.Optimizer,
    run_dir: RunDirectory,
    *,
    static: Mapping[str, Any],
    seed: int,
    console: Console,
    has_valid: bool,
    stop_after: int | None = None,
    kind: str = "neural",
) -> list[Callback]:
    """The callbacks a config asks for (scheduler, EMA, guards, checkpoints of ``kind``,
    logs, progress), in the order they run. On several processes only rank 0 writes
    (checkpoints, logs, the console); the others run the callbacks that change the run
    (schedules, EMA, early stopping, guards), which decide alike on every process."""
    t = config.training
    main = is_main_process()
    callbacks: list[Callback] = []
    if config.scheduler is not None:
        scheduler = build(
            "scheduler", _spec(config.scheduler), where="scheduler", optimizer=optimizer
        )
        callbacks.append(LRScheduler(scheduler, t.scheduler_interval))
    if t.ema_decay is not None:
        callbacks.append(EMA(t.ema_decay))
    callbacks.append(NonFiniteGuard(run_dir.path if main else None))
    es = t.early_stopping
    if es is not None and has_valid:
        callbacks.append(EarlyStopping(es.patience))
    if main:
        # the epoch's row is logged before its checkpoint: last.pt is the commit point
        # of an epoch, so a run killed in between resumes from the previous checkpoint
        # and the resume drops the extra row (a row never goes missing)
        callbacks.append(FileLogger(run_dir.path))
        callbacks.append(Checkpointing(run_dir.path, {**static, "seed": seed}, kind=kind))
        if t.tensorboard:
            callbacks.append(TensorBoardLogger(run_dir.path))
        callbacks.append(ConsoleProgress(console, bars=t.progress))
    if stop_after is not None:
        callbacks.append(StopAfter(stop_after))
    return callbacks


def trainer_for(
    config: RunConfig,
    model: nn.Module,
    task: Any,
    optimizer: torch.optim.Optimizer,
    train_loader: Any,
    valid_loader: Any,
    callbacks: list[Callback],
    *,
    device: torch.device,
    generator: torch.Generator,
) -> Trainer:
    """The :class:`Trainer` with the config's training settings."""
    t = config.training
    es = t.early_stopping
    has_valid = valid_loader is not None
    return Trainer(
        model,
        task,
        optimizer,
        train_loader,
        valid=valid_loader,
        epochs=t.epochs,
        monitor=monitor(config) if has_valid else None,
        min_delta=es.min_delta if es is not None and has_valid else 0.0,
        grad_clip=t.grad_clip,
        amp=t.amp,
        device=device,
        generator=generator,
        callbacks=callbacks,
    )


def build_trainer(
    config: RunConfig,
    model: nn.Module,
    train: RankingData,
    valid: RankingData | None,
    run_dir: RunDirectory,
    *,
    seed: int,
    device: torch.device,
    static: Mapping[str, Any],
    console: Console,
    stop_after: int | None = None,
    transform: FeatureTransform | None = None,
    teacher: npt.NDArray[np.float32] | None = None,
) -> Trainer:
    """The trainer of one neural ranker with the callbacks its config asks for, writing
    into ``run_dir``; ``static`` goes into every checkpoint (model-independent facts of the
    run: transform, config, metrics). ``teacher``: out-of-fold teacher scores of the
    training documents (``training.distill``)."""
    loss = build_loss(config)
    optimizer = build_optimizer(config, model)
    generator = torch.Generator().manual_seed(seed)
    train_loader, valid_loader = build_loaders(
        config, train, valid, generator, seed=seed, transform=transform, teacher=teacher
    )
    callbacks = build_callbacks(
        config,
        optimizer,
        run_dir,
        static=static,
        seed=seed,
        console=console,
        has_valid=valid_loader is not None,
        stop_after=stop_after,
    )
    distill = config.training.distill
    task = ListRankingTask(
        loss,
        validation_metrics(config),
        input_noise=config.training.input_noise,
        distill_weight=None if distill is None else distill.weight,
        distill_temperature=1.0 if distill is None else distill.temperature,
    )
    return trainer_for(
        config,
        model,
        task,
        optimizer,
        train_loader,
        valid_loader,
        callbacks,
        device=device,
        generator=generator,
    )
