"""Training: the :class:`Trainer` and its callbacks, tasks, checkpoints, configs, the
builder from configs to objects and the experiment runner.

- :mod:`~rankwise.train.trainer`: the loop (:class:`Trainer`, :class:`TrainResult`);
- :mod:`~rankwise.train.callbacks`: early stopping, checkpointing, EMA, the non-finite
  guard, LR schedules, loggers, console progress;
- :mod:`~rankwise.train.tasks`: list ranking, embedding and recommendation tasks;
- :mod:`~rankwise.train.checkpoint`: the one checkpoint type;
- :mod:`~rankwise.train.config`, :mod:`~rankwise.train.build`,
  :mod:`~rankwise.train.experiment`, :mod:`~rankwise.train.rundir`: configs, objects from
  configs, a whole run, its directory;
- :mod:`~rankwise.train.predict`: scoring data with a trained model.
"""

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
from rankwise.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from rankwise.train.tasks import EmbeddingTask, ListRankingTask, RecommendationTask, Task
from rankwise.train.trainer import Trainer, TrainResult, TrainState

__all__ = [
    "EMA",
    "Callback",
    "Checkpoint",
    "Checkpointing",
    "ConsoleProgress",
    "EarlyStopping",
    "EmbeddingTask",
    "FileLogger",
    "LRScheduler",
    "ListRankingTask",
    "NonFiniteGuard",
    "RecommendationTask",
    "StopAfter",
    "Task",
    "TensorBoardLogger",
    "TrainResult",
    "TrainState",
    "Trainer",
    "load_checkpoint",
    "save_checkpoint",
]
