"""Checkpoints: written atomically, read without executing pickled code.

A checkpoint is a ``torch.save`` file of plain values only (tensors, numbers,
strings, lists, dicts), so :func:`load_checkpoint` reads it with
``torch.load(..., weights_only=True)``: opening a checkpoint from elsewhere cannot run
code. It carries what ``predict`` needs (the model config, the fitted feature
transform, the rankwise version) and what ``--resume`` needs (optimiser, scheduler,
random-number states, early-stopping state, history).

Writes go to a temporary file in the same folder, are flushed to disk, then renamed
over the target (``os.replace`` is atomic on POSIX and Windows), so an interrupted
write never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from rankwise._version import __version__
from rankwise.errors import RankwiseError

FORMAT = "rankwise-checkpoint-1"


class CheckpointError(RankwiseError):
    """A file that is not a readable rankwise checkpoint."""


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` (plain values only) to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    content = {"format": FORMAT, "rankwise_version": __version__, **payload}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(content, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (no code execution), on the CPU."""
    p = Path(path)
    if p.is_dir():
        for name in ("best.pt", "last.pt"):
            if (p / "checkpoints" / name).exists():
                p = p / "checkpoints" / name
                break
            if (p / name).exists():
                p = p / name
                break
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        content = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise CheckpointError(f"{p}: not a readable rankwise checkpoint ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a rankwise checkpoint (format {FORMAT!r} expected)")
    return content
