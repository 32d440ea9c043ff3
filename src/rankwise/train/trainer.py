"""The training loop: a model, a task, an optimiser and batches in; a trained model out.

:class:`Trainer` is a small loop — forward under autocast, loss in float32, backward
(with gradient scaling for fp16), gradient clipping, optimiser step, validation after
every epoch, model selection on a monitored validation value — and everything else is a
:class:`~rankwise.train.callbacks.Callback` that owns its state: learning-rate schedules,
early stopping, EMA weights, the non-finite-loss guard, checkpoints, logs and the console.
The same loop trains item scorers, list rankers, embedding models and recommendation
models; a :class:`~rankwise.train.tasks.Task` says what is specific to each.

:meth:`Trainer.state_dict` holds the loop's state (epoch, history, best value, optimiser,
gradient scaler, random-number states, the trained weights) and every callback's, so
``fit(resume_from=checkpoint)`` ends exactly where an uninterrupted run would. The
trainer never reads configuration; :mod:`rankwise.train.build` turns a config into
these objects.

Data-parallel training: when a ``torch.distributed`` group with several processes
exists (``torchrun``, :class:`~rankwise.distributed.DistributedSession`), the model is
wrapped in ``DistributedDataParallel`` and the task computes its loss on the global
batch (:func:`~rankwise.distributed.gather_lists`); the loss is multiplied by the number
of processes before the backward pass so that DDP's gradient *average* is the gradient
of the global batch's loss — a step on W processes with b lists each is the step one
process takes on the W·b lists. The train loader's batch sampler is told the epoch
(``set_epoch``) so every process draws the same global batches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from rankwise.distributed import world_size
from rankwise.errors import CheckpointError
from rankwise.train.callbacks import Callback
from rankwise.train.checkpoint import Checkpoint, load_weights
from rankwise.train.tasks import Task

Amp = Literal["none", "bf16", "fp16"]


@dataclass
class TrainState:
    """The loop's own state (checkpointed)."""

    epoch: int = -1  # last completed epoch, 0-based
    best_value: float | None = None
    best_epoch: int | None = None  # 1-based
    stopped_early: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns."""

    history: list[dict[str, Any]]
    best_epoch: int | None
    best_value: float | None
    stopped_early: bool
    epochs_run: int
    checkpoint: Path | None = None  # best.pt (or last.pt without validation)
    finished: bool = True  # False when a callback interrupted the run (StopAfter)


class Trainer:
    """Train ``model`` on ``train_loader`` (module docstring).

    Args:
        model: the network; its outputs for a batch come from ``task.forward``.
        task: a :class:`~rankwise.train.tasks.Task` (list ranking, embedding,
            recommendation).
        optimizer: a ``torch.optim`` optimiser over the model's parameters.
        train_loader: yields batches with ``to(device)``, ``batch_size`` (lists or items)
            and ``num_documents``.
        valid: what ``task.evaluate`` validates on after every epoch (a loader of ranking
            batches, labelled items, interactions), or None.
        epochs: maximum number of epochs.
        monitor: the validation value that selects the best epoch: a key of
            ``task.metrics`` (higher is better) or ``"loss"`` (lower is better); default
            the task's first metric.
        min_delta: an epoch is the new best only if it improves by more than this.
        grad_clip: clip the gradient norm to this value.
        amp: ``"none"``, ``"bf16"`` or ``"fp16"`` (CUDA only) autocast around the model.
        device: where to train.
        generator: the generator the train loader shuffles and samples with; its state is
            checkpointed so that a resumed run sees the same batches. Found on the
            loader's batch sampler (or the loader) when not given.
        callbacks: run in this order at every hook (:mod:`rankwise.train.callbacks`).
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        optimizer: torch.optim.Optimizer,
        train_loader: Iterable[Any],
        *,
        valid: Any = None,
        epochs: int = 10,
        monitor: str | None = None,
        min_delta: float = 0.0,
        grad_clip: float | None = None,
        amp: Amp = "none",
        device: str | torch.device = "cpu",
        generator: torch.Generator | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        if amp not in ("none", "bf16", "fp16"):
            raise ValueError(f"amp must be 'none', 'bf16' or 'fp16', got {amp!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.device = torch.device(device)
        if amp == "fp16" and self.device.type != "cuda":
            raise ValueError("amp='fp16' needs a CUDA device (use 'bf16' on the CPU)")
        self.model = model.to(self.device)
        self.eval_model: nn.Module = self.model  # the EMA callback replaces it
        self.task = task
        self.world = world_size()
        self.train_module: nn.Module = self.model  # DistributedDataParallel on W > 1
        if self.world > 1:
            if not getattr(task, "gathers_across_ranks", False):
                raise TypeError(
                    f"{type(task).__name__} cannot train on {self.world} processes: its "
                    "loss does not gather the global batch; train it in one process"
                )
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            # a model whose forward leaves some parameters out (a transformer's own
            # pooler under a text ranker's pooling) says so through its task
            unused = bool(getattr(task, "unused_parameters", False))
            self.train_module = DistributedDataParallel(
                self.model, device_ids=ids, find_unused_parameters=unused
            )
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.valid = valid
        self.epochs = epochs
        self.monitor = monitor if monitor is not None else task.metrics[0]
        if self.monitor != "loss" and self.monitor not in task.metrics:
            raise ValueError(
                f"monitor {self.monitor!r} is not a validation value of the task "
                f"(its metrics: {task.metrics}, or 'loss')"
            )
        self.min_delta = min_delta
        self.grad_clip = grad_clip
        self.amp = amp
        sampler = getattr(train_loader, "batch_sampler", None)
        self.generator = (
            generator
            or getattr(sampler, "generator", None)
            or getattr(train_loader, "generator", None)
        )
        self.scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
        self.state = TrainState()
        self.should_stop = False  # set by callbacks to end fit() after the current epoch
        self.monitored: float | None = None  # this epoch's monitored validation value
        keys = [cb.key for cb in callbacks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two callbacks share a state key: {keys}")
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.attach(self)

    # ------------------------------------------------------------------ batches
    def autocast(self) -> Any:
        """The autocast context of the model's forward pass."""
        if self.amp == "none":
            return nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def run(self, cpu_batch: Any, model: nn.Module | None = None) -> tuple[Any, Any]:
        """``(outputs, batch on the device)`` of ``model`` (default: the trained one)."""
        batch = cpu_batch.to(self.device)
        with self.autocast():
            outputs = self.task.forward(model or self.model, batch)
        return outputs, batch

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.task.start_epoch(self.model, epoch)
        # a streamed loader (ShardStream) or a loader's batch sampler draws per epoch
        sampler = (
            self.train_loader
            if hasattr(self.train_loader, "set_epoch")
            else getattr(self.train_loader, "batch_sampler", None)
        )
        set_epoch = getattr(sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
        losses: list[float] = []
        lists = documents = 0
        started = time.perf_counter()
        for index, cpu_batch in enumerate(self.train_loader):
            outputs, batch = self.run(cpu_batch, self.train_module)
            # On W processes the loss is the global batch's, the same on every process
            # (so every guard decides alike); x W undoes DDP's gradient averaging.
            loss = self.task.loss(outputs, batch)
            value = float(loss.detach())
            for callback in self.callbacks:
                callback.on_loss(self, cpu_batch, value, index)
            if self.world > 1:
                loss = loss * self.world
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
            losses.append(value)
            lists += batch.batch_size
            documents += batch.num_documents
            for callback in self.callbacks:
                callback.on_batch_end(self, batch, value)
        seconds = max(time.perf_counter() - started, 1e-9)
        row = {
            "train_loss": float(np.mean(losses)) if losses else float("nan"),
            "seconds": seconds,
            "lists_per_s": lists / seconds,
            "docs_per_s": documents / seconds,
        }
        if self.world > 1:  # every process's lists, and what the remainder policy dropped
            from rankwise.distributed import all_gather_objects

            counts = all_gather_objects((lists, documents))
            row["processes"] = self.world
            row["lists_per_s"] = sum(c[0] for c in counts) / seconds
            row["docs_per_s"] = sum(c[1] for c in counts) / seconds
            row["dropped_queries"] = int(getattr(sampler, "dropped_queries", 0))
        return row

    def evaluate(self, data: Any) -> dict[str, float]:
        """The task's validation values of the evaluated model (EMA weights when set) on
        ``data``, in eval mode."""
        model = self.eval_model
        model.eval()
        with torch.no_grad():
            return self.task.evaluate(model, data, lambda b: self.run(b, model))

    def _improved(self, value: float) -> bool:
        best = self.state.best_value
        if best is None:
            return True
        if self.monitor == "loss":
            return value < best - self.min_delta
        return value > best + self.min_delta

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (module docstring); plain values and tensors."""
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.generator is not None:
            rng["loader"] = self.generator.get_state()
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        s = self.state
        return {
            "epoch": s.epoch,
            "best_value": s.best_value,
            "best_epoch": s.best_epoch,
            "stopped_early": s.stopped_early,
            "history": s.history,
            "model_state": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer_state": self.optimizer.state_dict(),
            "scaler_state": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng,
            "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the model, optimiser and callbacks must have the
        shapes of the run that wrote it)."""
        load_weights(self.model, state["model_state"], "the resumed checkpoint")
        self.optimizer.load_state_dict(state["optimizer_state"])
        if self.scaler is not None and state.get("scaler_state") is not None:
            self.scaler.load_state_dict(state["scaler_state"])
        rng = state.get("rng", {})
        torch.set_rng_state(rng["torch"])
        if self.generator is not None and "loader" in rng:
            self.generator.set_state(rng["loader"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        saved = state.get("callbacks", {})
        for callback in self.callbacks:
            if callback.key in saved:
                callback.load_state_dict(saved[callback.key])
        self.state = TrainState(
            epoch=int(state["epoch"]),
            best_value=state.get("best_value"),
            best_epoch=state.get("best_epoch"),
            stopped_early=bool(state.get("stopped_early", False)),
            history=list(state.get("history", [])),
        )

    # ------------------------------------------------------------------ the loop
    def fit(self, resume_from: str | Path | None = None) -> TrainResult:
        """Train for up to ``epochs`` epochs; ``resume_from`` a checkpoint written by
        :class:`~rankwise.train.callbacks.Checkpointing` continues that run."""
        if resume_from is not None:
            checkpoint = Checkpoint.load(resume_from)
            if checkpoint.training is None:
                raise CheckpointError(f"{resume_from}: the checkpoint holds no training state")
            try:
                self.load_state_dict(checkpoint.training)
            except CheckpointError as exc:
                raise CheckpointError(f"cannot resume from {resume_from}: {exc}") from None
        self.should_stop = False
        for callback in self.callbacks:
            callback.on_fit_start(self, resumed=resume_from is not None)
        first = self.epochs if self.state.stopped_early else self.state.epoch + 1
        try:
            for epoch in range(first, self.epochs):
                self._run_epoch(epoch)
                if self.should_stop:
                    break
        finally:
            for callback in self.callbacks:
                callback.on_fit_end(self)
        s = self.state
        return TrainResult(
            history=s.history,
            best_epoch=s.best_epoch,
            best_value=s.best_value,
            stopped_early=s.stopped_early,
            epochs_run=s.epoch + 1,
            checkpoint=next(
                (cb.result_path() for cb in self.callbacks if cb.result_path() is not None),
                None,
            ),
            finished=s.stopped_early or s.epoch + 1 >= self.epochs,
        )

    def _run_epoch(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_start(self, epoch)
        row: dict[str, Any] = {"epoch": epoch + 1}
        row.update(self._train_epoch(epoch))
        row["lr"] = float(self.optimizer.param_groups[0]["lr"])
        monitored: float | None = None
        if self.valid is not None:
            started = time.perf_counter()
            values = self.evaluate(self.valid)
            row["valid_seconds"] = time.perf_counter() - started
            row.update({f"valid_{k}": v for k, v in values.items()})
            if self.monitor not in values:
                raise KeyError(f"the validation values {sorted(values)} lack {self.monitor!r}")
            monitored = values[self.monitor]
        s = self.state
        s.epoch = epoch
        best = monitored is not None and self._improved(monitored)
        if best:
            s.best_value, s.best_epoch = monitored, epoch + 1
        row["best"] = best
        s.history.append(row)
        self.monitored = monitored
        for callback in self.callbacks:
            callback.on_epoch_end(self, row)

    def load_best(self) -> None:
        """Load the best epoch's weights (from the checkpointing callback) into the
        evaluated model."""
        for callback in self.callbacks:
            callback.restore_best(self)

    @property
    def epochs_since_best(self) -> int:
        """Validated epochs since the best one (all of them when there is none yet)."""
        s = self.state
        return s.epoch + 1 - (s.best_epoch or 0)
