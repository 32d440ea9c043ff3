"""Checkpoints: one type for every model, written atomically, read without executing code.

A :class:`Checkpoint` is what ``predict``, ``evaluate --checkpoint`` and ``--resume``
read, for each ``kind`` of model:

- ``"neural"``: ``model_config`` and ``model_state`` (the weights to predict with: the EMA
  weights when the run kept an average), plus ``training`` (the trainer's whole state,
  for ``--resume``);
- ``"ensemble"``: ``members`` (each with its model config, weights and best epoch) and
  the ``means``/``stds`` that standardise each member's scores;
- ``"gbdt"``: ``gbdt_state`` (the tree library's own model plus rankwise's parameters).

Every kind carries the fitted feature ``transform``, the resolved run ``config``, the
``metrics`` and ``seed`` of the run. The file is a ``torch.save`` of plain values only
(tensors, numbers, strings, lists, dicts), so :meth:`Checkpoint.load` reads it with
``torch.load(..., weights_only=True)``: opening a checkpoint from elsewhere cannot run
code. Writes go to a temporary file in the same folder, are flushed to disk, then renamed
over the target (``os.replace`` is atomic on POSIX and Windows), so an interrupted write
never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from rankwise._version import __version__
from rankwise.errors import CheckpointError

FORMAT = "rankwise-checkpoint-2"
Kind = Literal["neural", "ensemble", "gbdt"]
KINDS = ("neural", "ensemble", "gbdt")


@dataclass
class Checkpoint:
    """A trained model and what is needed to use or continue it (module docstring)."""

    kind: Kind
    model_config: dict[str, Any] | None = None
    model_state: dict[str, Any] | None = None
    members: list[dict[str, Any]] | None = None
    means: list[float] | None = None
    stds: list[float] | None = None
    gbdt_state: dict[str, Any] | None = None
    transform: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    metrics: list[str] = field(default_factory=list)
    seed: int | None = None
    training: dict[str, Any] | None = None
    rankwise_version: str = __version__

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CheckpointError(f"checkpoint kind must be one of {KINDS}, got {self.kind!r}")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Atomically write the checkpoint to ``path``."""
        return save_checkpoint(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read a checkpoint file, or a run directory's best (else last) checkpoint."""
        content = load_checkpoint(path)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(content) - names - {"format"})
        if unknown or content.get("kind") not in KINDS:
            raise CheckpointError(
                f"{path}: not a rankwise model checkpoint (kind {content.get('kind')!r}, "
                f"unexpected entries {unknown})"
            )
        return cls(**{k: v for k, v in content.items() if k in names})


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` (plain values only) to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    content = {"format": FORMAT, **payload}
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
    """Read a checkpoint file's payload with ``weights_only=True`` (no code execution), on
    the CPU; a run directory means its best (else last) checkpoint."""
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
