"""Callbacks of the training loop: everything around the loop, each owning its state.

A :class:`Callback` has hooks (all optional) that the
:class:`~rankwise.train.trainer.Trainer` calls in the order the callbacks were given, and
a :meth:`~Callback.state_dict` that goes into every checkpoint, so a resumed run restores
all of them:

- :class:`LRScheduler`: steps a ``torch.optim.lr_scheduler`` per epoch or per batch
  (a scheduler whose ``step`` takes ``metrics``, such as ``ReduceLROnPlateau``, gets the
  monitored validation value);
- :class:`EarlyStopping`: stops after ``patience`` epochs without a new best;
- :class:`EMA`: an exponential moving average of the weights, which validation,
  checkpoints for prediction and the final model use;
- :class:`NonFiniteGuard`: stops with :class:`~rankwise.errors.NonFiniteLossError` when
  the loss is NaN or infinite, naming the epoch and batch and saving the batch;
- :class:`Checkpointing`: ``checkpoints/last.pt`` every epoch and ``best.pt`` on a new
  best, written atomically;
- :class:`FileLogger` (``metrics.csv``, ``metrics.jsonl``), :class:`TensorBoardLogger`;
- :class:`ConsoleProgress`: a progress bar per epoch (lists/s, documents/s, ETA) and a
  summary line;
- :class:`StopAfter`: ends a run after some epochs of this call (to interrupt a run on
  purpose, e.g. in tests; ``fit(resume_from=...)`` continues it).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from torch import Tensor, nn

from rankwise.errors import NonFiniteLossError
from rankwise.train.checkpoint import Checkpoint, load_weights, save_checkpoint
from rankwise.train.logs import RowLog, TensorBoardWriter
from rankwise.train.progress import EpochProgress
from rankwise.train.rundir import RunDirectory

if TYPE_CHECKING:
    from rankwise.train.trainer import Trainer


class Callback:
    """Base class: hooks of the loop (module docstring), each a no-op by default.

    :attr:`key` names the callback's entry in a checkpoint's training state (default: its
    class name), so two callbacks of one class need different keys.
    """

    @property
    def key(self) -> str:
        return type(self).__name__

    def attach(self, trainer: Trainer) -> None:
        """Called once, when the trainer is built (the model is on its device)."""

    def on_fit_start(self, trainer: Trainer, *, resumed: bool) -> None:
        """Before the first epoch of :meth:`Trainer.fit` (after a resume's restore)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Before each epoch (0-based)."""

    def on_loss(self, trainer: Trainer, batch: Any, loss: float, index: int) -> None:
        """After each training batch's forward pass, before the backward pass."""

    def on_batch_end(self, trainer: Trainer, batch: Any, loss: float) -> None:
        """After each optimiser step."""

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        """After each epoch's validation; ``row`` is the epoch's history row."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """When :meth:`Trainer.fit` returns or raises."""

    def restore_best(self, trainer: Trainer) -> None:
        """Load the best epoch's weights into the evaluated model, if this callback keeps
        them (:class:`Checkpointing`)."""

    def result_path(self) -> Path | None:
        """The checkpoint a finished run points to, if this callback writes one."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs of this callback (plain values and tensors)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""


def _cpu_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


class LRScheduler(Callback):
    """Step ``scheduler`` after every epoch (``interval="epoch"``) or optimiser step
    (``"step"``). A scheduler whose ``step`` takes ``metrics`` (``ReduceLROnPlateau``) is
    given the monitored validation value, or the training loss without validation."""

    def __init__(self, scheduler: Any, interval: Literal["epoch", "step"] = "epoch") -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"scheduler interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler = scheduler
        self.interval = interval
        self.takes_metric = "metrics" in inspect.signature(scheduler.step).parameters

    def on_batch_end(self, trainer: Trainer, batch: Any, loss: float) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        if self.interval != "epoch":
            return
        if self.takes_metric:
            monitored = trainer.monitored
            self.scheduler.step(monitored if monitored is not None else row["train_loss"])
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = self.scheduler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class EarlyStopping(Callback):
    """Stop when the trainer's monitored validation value has not improved (by the
    trainer's ``min_delta``) for ``patience`` epochs. A resumed run that had stopped
    stays stopped."""

    def __init__(self, patience: int = 5) -> None:
        if patience < 1:
            raise ValueError(f"early stopping patience must be >= 1, got {patience}")
        self.patience = patience

    def attach(self, trainer: Trainer) -> None:
        if trainer.valid is None:
            raise ValueError("early stopping needs validation data (the trainer's valid)")

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        if trainer.epochs_since_best >= self.patience:
            trainer.state.stopped_early = True
            trainer.should_stop = True


class EMA(Callback):
    """An exponential moving average of the weights (decay per step, e.g. 0.999, warmed up
    as ``min(decay, (1 + n) / (10 + n))`` after n steps). It becomes the trainer's
    ``eval_model``: validation, the checkpoints' prediction weights and the final model use
    it. It averages out the step-to-step noise of small data sets."""

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.steps = 0
        self.average: nn.Module | None = None

    def attach(self, trainer: Trainer) -> None:
        self.average = copy.deepcopy(trainer.model).requires_grad_(False)
        trainer.eval_model = self.average

    @torch.no_grad()
    def on_batch_end(self, trainer: Trainer, batch: Any, loss: float) -> None:
        assert self.average is not None
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for avg, cur in zip(self.average.parameters(), trainer.model.parameters(), strict=True):
            avg.lerp_(cur.detach(), 1.0 - decay)
        for avg_b, cur_b in zip(self.average.buffers(), trainer.model.buffers(), strict=True):
            avg_b.copy_(cur_b)

    def state_dict(self) -> dict[str, Any]:
        assert self.average is not None
        return {"steps": self.steps, "average": _cpu_state(self.average)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        assert self.average is not None
        self.steps = int(state["steps"])
        self.average.load_state_dict(state["average"])


class NonFiniteGuard(Callback):
    """Raise :class:`~rankwise.errors.NonFiniteLossError` when a training loss is NaN or
    infinite, naming the epoch and batch; with a ``directory``, the offending batch (its
    tensors and ids) and the model's weights are saved there first."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.epoch = 0

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self.epoch = epoch + 1

    def on_loss(self, trainer: Trainer, batch: Any, loss: float, index: int) -> None:
        if math.isfinite(loss):
            return
        path = self._save(trainer, batch, index + 1)
        ids = getattr(batch, "qids", None)
        shown = f" (qids {list(np.asarray(ids)[:5])}...)" if ids is not None else ""
        saved = f"; the batch{shown} was saved to {path}" if path else ""
        raise NonFiniteLossError(
            f"the training loss is {loss} at epoch {self.epoch}, batch {index + 1}{saved}"
        )

    def _save(self, trainer: Trainer, batch: Any, index: int) -> Path | None:
        if self.directory is None:
            return None
        content: dict[str, Any] = {"model_state": _cpu_state(trainer.model)}
        if dataclasses.is_dataclass(batch):
            for f in dataclasses.fields(batch):
                value = getattr(batch, f.name)
                if isinstance(value, Tensor):
                    content[f.name] = value.detach().cpu()
                elif isinstance(value, np.ndarray):
                    content[f.name] = [str(v) for v in value.tolist()]
        path = self.directory / f"nonfinite-batch-epoch{self.epoch}-batch{index}.pt"
        save_checkpoint(path, content)
        return path


class Checkpointing(Callback):
    """``directory/checkpoints/last.pt`` after every epoch and ``best.pt`` after a new best:
    a :class:`~rankwise.train.checkpoint.Checkpoint` of kind ``kind`` (``"neural"``, or
    ``"text"`` for text rankers) with the evaluated
    model's weights (what ``predict`` loads), ``static`` (model config, feature transform,
    resolved config, metrics...) and the trainer's whole state (what a resume loads)."""

    def __init__(
        self, directory: str | Path, static: dict[str, Any] | None = None, *, kind: str = "neural"
    ) -> None:
        run_dir = RunDirectory(directory)
        self.last = run_dir.last_checkpoint
        self.best = run_dir.best_checkpoint
        self.static = dict(static or {})
        self.kind = kind

    def _checkpoint(self, trainer: Trainer) -> Checkpoint:
        return Checkpoint(
            kind=self.kind,  # type: ignore[arg-type]
            model_config=getattr(trainer.eval_model, "config", None),
            model_state=_cpu_state(trainer.eval_model),
            training=trainer.state_dict(),
            **self.static,
        )

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        checkpoint = self._checkpoint(trainer)
        # best before last: last.pt commits the epoch (a kill in between redoes it)
        if row.get("best"):
            checkpoint.save(self.best)
        checkpoint.save(self.last)

    def restore_best(self, trainer: Trainer) -> None:
        if self.best.exists():
            state = Checkpoint.load(self.best).model_state
            assert state is not None
            load_weights(trainer.eval_model, state, self.best)

    def result_path(self) -> Path | None:
        for path in (self.best, self.last):
            if path.exists():
                return path
        return None


class FileLogger(Callback):
    """One row per epoch in ``directory/metrics.csv`` and ``metrics.jsonl``; a resumed run
    drops the rows after its checkpoint's epoch first, so no epoch appears twice."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.log: RowLog | None = None

    def on_fit_start(self, trainer: Trainer, *, resumed: bool) -> None:
        self.log = RowLog(self.directory)
        self.log.truncate(trainer.state.epoch + 1)

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        assert self.log is not None
        self.log.append(row)


class TensorBoardLogger(Callback):
    """The numeric values of every epoch's row as TensorBoard scalars in
    ``directory/tensorboard`` (rankwise writes the event files itself)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory) / "tensorboard"
        self.writer: TensorBoardWriter | None = None

    def on_fit_start(self, trainer: Trainer, *, resumed: bool) -> None:
        self.writer = TensorBoardWriter(self.directory)

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        assert self.writer is not None
        scalars = {
            k: float(v)
            for k, v in row.items()
            if k != "epoch"
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
        }
        self.writer.add_scalars(int(row["epoch"]), scalars)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class ConsoleProgress(Callback):
    """A progress bar per epoch with lists/s, documents/s and ETA (``bars=False``: none)
    and a summary line after each epoch, on ``console``."""

    def __init__(self, console: Console | None = None, *, bars: bool = True) -> None:
        self.console = console or Console()
        self.bars = bars
        self.progress: EpochProgress | None = None

    def on_fit_start(self, trainer: Trainer, *, resumed: bool) -> None:
        if resumed:
            self.console.print(f"resumed after epoch {trainer.state.epoch + 1}")

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        total = getattr(trainer.train_loader, "__len__", None)
        self.progress = EpochProgress(
            f"epoch {epoch + 1}/{trainer.epochs}",
            total() if callable(total) else None,
            self.console,
            self.bars,
        ).__enter__()

    def on_batch_end(self, trainer: Trainer, batch: Any, loss: float) -> None:
        assert self.progress is not None
        self.progress.advance(batch.batch_size, batch.num_documents, loss)

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        self._close()
        parts = [f"epoch {row['epoch']:>3}", f"train loss {row['train_loss']:.4f}"]
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
        s = trainer.state
        if trainer.should_stop and s.stopped_early and s.best_value is not None:
            self.console.print(
                f"early stop: {escape(trainer.monitor)} has not improved for "
                f"{trainer.epochs_since_best} epochs (best {s.best_value:.4f} at epoch "
                f"{s.best_epoch})"
            )

    def on_fit_end(self, trainer: Trainer) -> None:
        self._close()

    def _close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None


class StopAfter(Callback):
    """End :meth:`Trainer.fit` after ``epochs`` epochs of this call (the run is then not
    finished; ``fit(resume_from=...)`` continues it)."""

    def __init__(self, epochs: int) -> None:
        if epochs < 1:
            raise ValueError(f"StopAfter: epochs must be >= 1, got {epochs}")
        self.epochs = epochs
        self.ran = 0

    def on_fit_start(self, trainer: Trainer, *, resumed: bool) -> None:
        self.ran = 0

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        self.ran += 1
        if self.ran >= self.epochs:
            trainer.should_stop = True
