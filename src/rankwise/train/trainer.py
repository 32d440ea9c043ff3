"""The training loop: objects in, a trained model and its history out.

:class:`Trainer` takes built objects (model, loss, optimiser, scheduler, loaders,
metrics, callbacks) and never reads configuration. It provides:

- validation after every epoch with rankwise metrics (metric strings, e.g.
  ``"ndcg@10"``) and early stopping on one of them (or on the validation loss);
- learning-rate schedules stepped per epoch or per batch (``ReduceLROnPlateau`` gets
  the early-stopping metric), gradient clipping by norm;
- bf16/fp16 autocast around the model (CUDA; bf16 also on CPU), with the loss and the
  metrics always computed in float32, and gradient scaling for fp16;
- deterministic runs: the same seed gives the same metrics on the CPU;
- atomic checkpoints every epoch (``last.pt``) and on the best validation score
  (``best.pt``), and ``fit(resume=True)``, which restores model, optimiser,
  scheduler, random-number states and early stopping, so an interrupted run ends
  exactly where an uninterrupted one would;
- a stop with a clear error when the loss becomes NaN or infinite, naming the epoch and
  batch and saving the offending batch;
- progress bars with lists/s, documents/s and ETA, a console summary per epoch, and
  logs as CSV, JSON lines and TensorBoard events.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from torch import Tensor, nn
from torch.utils.data import DataLoader

from rankwise.data.dataset import RankingBatch
from rankwise.errors import RankwiseError
from rankwise.metrics.accumulator import MetricAccumulator
from rankwise.metrics.spec import parse_metric
from rankwise.train.checkpoint import load_checkpoint, save_checkpoint
from rankwise.train.logs import EpochLog
from rankwise.train.progress import EpochProgress

Amp = Literal["none", "bf16", "fp16"]
LossFn = Callable[..., Tensor]


class NonFiniteLossError(RankwiseError):
    """The training loss became NaN or infinite."""


@dataclass
class EarlyStopping:
    """Stop when ``metric`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``metric`` is a validation metric string (``"ndcg@10"``, higher is better) or
    ``"loss"`` (the validation loss, lower is better).
    """

    metric: str = "ndcg@10"
    patience: int = 5
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"early stopping patience must be >= 1, got {self.patience}")
        if self.metric != "loss":
            self.metric = parse_metric(self.metric).key

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "loss"


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns."""

    history: list[dict[str, Any]]
    best_epoch: int | None
    best_value: float | None
    stopped_early: bool
    epochs_run: int
    checkpoint: Path | None = None  # best.pt (or last.pt without validation)
    finished: bool = True  # False when stop_after interrupted the run


@dataclass
class _State:
    epoch: int = -1  # last completed epoch
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped_early: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Train a ranker (module docstring).

    Args:
        model: a scorer ``model(features, mask) -> scores``.
        loss: ``loss(scores, labels, mask=mask) -> scalar`` (e.g. a ``rankwise.losses``
            module).
        optimizer: a ``torch.optim`` optimiser over the model's parameters.
        train_loader: yields :class:`~rankwise.data.RankingBatch`.
        valid_loader: evaluated after every epoch (no sampling: every document counts).
        metrics: validation metric strings.
        scheduler: an LR scheduler, stepped per epoch or per batch
            (``scheduler_interval``).
        epochs: maximum number of epochs.
        early_stopping: stop rule (needs ``valid_loader``).
        grad_clip: clip the gradient norm to this value.
        amp: "none", "bf16" or "fp16" autocast around the model.
        device: where to train.
        run_dir: where checkpoints and logs go (None: keep nothing on disk).
        generator: the generator the train loader shuffles and samples with; its state
            is checkpointed so that a resumed run sees the same batches. Found on the
            loader's batch sampler when not given.
        checkpoint_extra: plain values stored in every checkpoint (model config,
            feature transform, resolved config...).
        callbacks: ``fn(trainer, epoch, row)`` after each epoch.
        progress: show progress bars.
        stop_after: stop after this many epochs *of this call* (to interrupt a run in
            tests; a resumed run continues).
        ema_decay: keep an exponential moving average of the weights (decay per step,
            e.g. 0.999, warmed up as ``min(decay, (1 + n) / (10 + n))`` after n steps);
            validation, checkpoints' ``model_state`` and the final model use it. It
            averages out the step-to-step noise of small data sets.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: LossFn,
        optimizer: torch.optim.Optimizer,
        train_loader: DataLoader[Any] | Iterable[RankingBatch],
        *,
        valid_loader: DataLoader[Any] | Iterable[RankingBatch] | None = None,
        metrics: Sequence[str] = ("ndcg@10",),
        scheduler: Any = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        epochs: int = 10,
        early_stopping: EarlyStopping | None = None,
        grad_clip: float | None = None,
        amp: Amp = "none",
        device: str | torch.device = "cpu",
        run_dir: str | Path | None = None,
        generator: torch.Generator | None = None,
        checkpoint_extra: dict[str, Any] | None = None,
        callbacks: Sequence[Callable[[Trainer, int, dict[str, Any]], None]] = (),
        progress: bool = True,
        console: Console | None = None,
        tensorboard: bool = True,
        stop_after: int | None = None,
        ema_decay: float | None = None,
    ) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        if amp not in ("none", "bf16", "fp16"):
            raise ValueError(f"amp must be 'none', 'bf16' or 'fp16', got {amp!r}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
            )
        if early_stopping is not None and valid_loader is None:
            raise ValueError("early stopping needs a validation loader")
        self.device = torch.device(device)
        if amp == "fp16" and self.device.type != "cuda":
            raise ValueError("amp='fp16' needs a CUDA device (use 'bf16' on the CPU)")
        self.model = model.to(self.device)
        self.loss = loss
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.valid_loader = valid_loader
        self.metrics = [parse_metric(m).key for m in metrics]
        if early_stopping is not None and early_stopping.metric not in (*self.metrics, "loss"):
            self.metrics.append(early_stopping.metric)
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.grad_clip = grad_clip
        self.amp = amp
        self.run_dir = Path(run_dir) if run_dir is not None else None
        sampler = getattr(train_loader, "batch_sampler", None)
        self.generator = generator or getattr(sampler, "generator", None)
        self.checkpoint_extra = dict(checkpoint_extra or {})
        self.callbacks = list(callbacks)
        self.progress = progress
        self.console = console or Console()
        self.tensorboard = tensorboard
        self.stop_after = stop_after
        self.scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
        self.state = _State()
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
        self.ema_decay = ema_decay
        self.ema_steps = 0
        self.ema: nn.Module | None = None
        if ema_decay is not None:
            self.ema = copy.deepcopy(self.model).requires_grad_(False)

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are validated, checkpointed for prediction and returned:
        the moving average when ``ema_decay`` is set, else the trained model."""
        return self.ema if self.ema is not None else self.model

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema is None or self.ema_decay is None:
            return
        self.ema_steps += 1
        decay = min(self.ema_decay, (1 + self.ema_steps) / (10 + self.ema_steps))
        for avg, cur in zip(self.ema.parameters(), self.model.parameters(), strict=True):
            avg.lerp_(cur.detach(), 1.0 - decay)
        for avg_b, cur_b in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            avg_b.copy_(cur_b)

    # ------------------------------------------------------------------ helpers
    def _autocast(self) -> Any:
        if self.amp == "none":
            return nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _scores(self, batch: RankingBatch, model: nn.Module | None = None) -> Tensor:
        with self._autocast():
            scores: Tensor = (model or self.model)(batch.features, batch.mask)
        return scores.float()  # losses and metrics in float32 whatever the autocast

    def _checkpoint_path(self, name: str) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "checkpoints" / name

    def _payload(self) -> dict[str, Any]:
        config = getattr(self.model, "config", None)
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.generator is not None:
            rng["loader"] = self.generator.get_state()
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        s = self.state
        return {
            "epoch": s.epoch,
            "model_config": config,
            "model_state": {k: v.detach().cpu() for k, v in self.eval_model.state_dict().items()},
            "train_model_state": (
                {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
                if self.ema is not None
                else None
            ),
            "ema_steps": self.ema_steps,
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler_state": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng,
            "best_value": s.best_value,
            "best_epoch": s.best_epoch,
            "bad_epochs": s.bad_epochs,
            "stopped_early": s.stopped_early,
            "history": s.history,
            "metrics": self.metrics,
            **self.checkpoint_extra,
        }

    def _restore(self, ckpt: dict[str, Any]) -> None:
        if self.ema is not None:
            self.ema.load_state_dict(ckpt["model_state"])
            self.model.load_state_dict(ckpt["train_model_state"])
            self.ema_steps = int(ckpt.get("ema_steps", 0))
        else:
            self.model.load_state_dict(ckpt["model_state"])
        self.optimizer.load_state_dict(ckpt["optimizer_state"])
        if self.scheduler is not None and ckpt.get("scheduler_state") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler_state"])
        if self.scaler is not None and ckpt.get("scaler_state") is not None:
            self.scaler.load_state_dict(ckpt["scaler_state"])
        rng = ckpt.get("rng", {})
        torch.set_rng_state(rng["torch"])
        if self.generator is not None and "loader" in rng:
            self.generator.set_state(rng["loader"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.state = _State(
            epoch=int(ckpt["epoch"]),
            best_value=ckpt.get("best_value"),
            best_epoch=ckpt.get("best_epoch"),
            bad_epochs=int(ckpt.get("bad_epochs", 0)),
            stopped_early=bool(ckpt.get("stopped_early", False)),
            history=list(ckpt.get("history", [])),
        )

    def _save_bad_batch(self, batch: RankingBatch, epoch: int, index: int) -> Path | None:
        if self.run_dir is None:
            return None
        path = self.run_dir / f"nonfinite-batch-epoch{epoch}-batch{index}.pt"
        save_checkpoint(
            path,
            {
                "features": batch.features.detach().cpu(),
                "labels": batch.labels.detach().cpu(),
                "mask": batch.mask.detach().cpu(),
                "qids": [str(q) for q in np.asarray(batch.qids).tolist()],
                "model_state": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            },
        )
        return path

    # ------------------------------------------------------------------ epochs
    def _train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        on_start = getattr(self.model, "on_epoch_start", None)
        if callable(on_start):
            on_start(epoch)
        total = getattr(self.train_loader, "__len__", None)
        losses: list[float] = []
        with EpochProgress(
            f"epoch {epoch + 1}/{self.epochs}",
            total() if callable(total) else None,
            self.console,
            self.progress,
        ) as bar:
            for index, cpu_batch in enumerate(self.train_loader):
                batch = cpu_batch.to(self.device)
                scores = self._scores(batch)
                loss = self.loss(scores, batch.labels, mask=batch.mask)
                value = float(loss.detach())
                if not math.isfinite(value):
                    path = self._save_bad_batch(cpu_batch, epoch + 1, index + 1)
                    qids = list(np.asarray(cpu_batch.qids)[:5])
                    saved = f"; the batch (qids {qids}...) was saved to {path}" if path else ""
                    raise NonFiniteLossError(
                        f"the training loss is {value} at epoch {epoch + 1}, "
                        f"batch {index + 1}{saved}"
                    )
                self.optimizer.zero_grad(set_to_none=True)
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
                    self.scaler.unscale_(self.optimizer)
                else:
                    loss.backward()  # type: ignore[no-untyped-call]
                if self.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
                if self.scaler is not None:
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    self.optimizer.step()
                self._update_ema()
                if self.scheduler is not None and self.scheduler_interval == "step":
                    self.scheduler.step()
                losses.append(value)
                bar.advance(batch.batch_size, batch.num_documents, value)
        return {
            "train_loss": float(np.mean(losses)) if losses else float("nan"),
            "seconds": bar.seconds,
            "lists_per_s": bar.lists / bar.seconds,
            "docs_per_s": bar.documents / bar.seconds,
        }

    @torch.no_grad()
    def evaluate(
        self, loader: DataLoader[Any] | Iterable[RankingBatch], metrics: Sequence[str] | None = None
    ) -> tuple[dict[str, float], MetricAccumulator]:
        """Mean loss and metrics over ``loader`` (eval mode); also the accumulator with
        per-query values."""
        model = self.eval_model
        model.eval()
        acc = MetricAccumulator(list(metrics or self.metrics))
        loss_sum = 0.0
        lists = 0
        for cpu_batch in loader:
            batch = cpu_batch.to(self.device)
            scores = self._scores(batch, model)
            loss = self.loss(scores, batch.labels, mask=batch.mask)
            loss_sum += float(loss) * batch.batch_size
            lists += batch.batch_size
            acc.update(scores, batch.labels, mask=batch.mask, qids=np.asarray(batch.qids).tolist())
        out = {"loss": loss_sum / max(lists, 1), **acc.compute()}
        return out, acc

    def _improved(self, value: float) -> bool:
        rule = self.early_stopping
        best = self.state.best_value
        if best is None:
            return True
        delta = rule.min_delta if rule is not None else 0.0
        higher = rule.higher_is_better if rule is not None else True
        return value > best + delta if higher else value < best - delta

    def fit(self, resume: bool = False) -> TrainResult:
        """Train for up to ``epochs`` epochs (module docstring); ``resume=True``
        continues from ``run_dir/checkpoints/last.pt``."""
        if resume:
            path = self._checkpoint_path("last.pt")
            if path is None or not path.exists():
                raise FileNotFoundError(
                    f"cannot resume: no checkpoint at {path or '(no run directory)'}"
                )
            self._restore(load_checkpoint(path))
            self.console.print(f"resumed from {path} after epoch {self.state.epoch + 1}")
        log = EpochLog(self.run_dir, tensorboard=self.tensorboard) if self.run_dir else None
        if log is not None:
            log.truncate(self.state.epoch + 1)
        stopped_early = self.state.stopped_early  # a resumed run that had stopped stays stopped
        ran = 0
        first = self.epochs if stopped_early else self.state.epoch + 1
        try:
            for epoch in range(first, self.epochs):
                row: dict[str, Any] = {"epoch": epoch + 1}
                row.update(self._train_epoch(epoch))
                row["lr"] = float(self.optimizer.param_groups[0]["lr"])
                monitored: float | None = None
                if self.valid_loader is not None:
                    started = time.perf_counter()
                    values, _ = self.evaluate(self.valid_loader)
                    row["valid_seconds"] = time.perf_counter() - started
                    row.update({f"valid_{k}": v for k, v in values.items()})
                    key = self.early_stopping.metric if self.early_stopping else self.metrics[0]
                    monitored = values[key]
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                        self.scheduler.step(
                            monitored if monitored is not None else row["train_loss"]
                        )
                    else:
                        self.scheduler.step()
                s = self.state
                s.epoch = epoch
                best = monitored is not None and self._improved(monitored)
                if best:
                    s.best_value, s.best_epoch, s.bad_epochs = monitored, epoch + 1, 0
                elif monitored is not None:
                    s.bad_epochs += 1
                row["best"] = best
                s.history.append(row)
                if self.early_stopping is not None and s.bad_epochs >= self.early_stopping.patience:
                    s.stopped_early = True
                if self.run_dir is not None:
                    payload = self._payload()
                    save_checkpoint(self.run_dir / "checkpoints" / "last.pt", payload)
                    if best:
                        save_checkpoint(self.run_dir / "checkpoints" / "best.pt", payload)
                if log is not None:
                    log.append(row)
                self._summary(row, monitored)
                for callback in self.callbacks:
                    callback(self, epoch, row)
                ran += 1
                if s.stopped_early:
                    stopped_early = True
                    assert self.early_stopping is not None
                    self.console.print(
                        f"early stop: {escape(self.early_stopping.metric)} has not improved for "
                        f"{s.bad_epochs} epochs (best {s.best_value:.4f} at epoch {s.best_epoch})"
                    )
                    break
                if self.stop_after is not None and ran >= self.stop_after:
                    break
        finally:
            if log is not None:
                log.close()
        best_path = self._checkpoint_path("best.pt" if self.state.best_epoch else "last.pt")
        return TrainResult(
            history=self.state.history,
            best_epoch=self.state.best_epoch,
            best_value=self.state.best_value,
            stopped_early=stopped_early,
            epochs_run=self.state.epoch + 1,
            checkpoint=best_path if best_path is not None and best_path.exists() else None,
            finished=stopped_early or self.state.epoch + 1 >= self.epochs,
        )

    def _summary(self, row: dict[str, Any], monitored: float | None) -> None:
        parts = [
            f"epoch {row['epoch']:>3}",
            f"train loss {row['train_loss']:.4f}",
        ]
        valid = [
            f"{escape(k[6:])} {v:.4f}"
            for k, v in row.items()
            if k.startswith("valid_") and k != "valid_seconds"
        ]
        if valid:
            parts.append("| valid " + "  ".join(valid) + " |")
        parts.append(f"{row['docs_per_s']:,.0f} docs/s")
        parts.append(f"{row['seconds']:.1f}s")
        if row.get("best"):
            parts.append("[green]best[/]")
        self.console.print("  ".join(parts))

    def load_best(self) -> None:
        """Load the best checkpoint's weights into the model (after :meth:`fit`)."""
        path = self._checkpoint_path("best.pt")
        if path is not None and path.exists():
            self.eval_model.load_state_dict(load_checkpoint(path)["model_state"])
