"""Training: the :class:`Trainer`, checkpoints, configs and the experiment runner."""

from rankwise.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rankwise.train.trainer import EarlyStopping, NonFiniteLossError, Trainer, TrainResult

__all__ = [
    "CheckpointError",
    "EarlyStopping",
    "NonFiniteLossError",
    "TrainResult",
    "Trainer",
    "load_checkpoint",
    "save_checkpoint",
]
