"""Checkpoints: one type for every model, written atomically, read without executing code.

A :class:`Checkpoint` is what ``predict``, ``evaluate --checkpoint`` and ``--resume``
read, for each ``kind`` of model:

- ``"neural"``: ``model_config`` and ``model_state`` (the weights to predict with: the EMA
  weights when the run kept an average), plus ``training`` (the trainer's whole state,
  for ``--resume``);
- ``"ensemble"``: ``members`` (each with its model config, weights and best epoch) and
  the ``means``/``stds`` that standardise each member's scores;
- ``"gbdt"``: ``gbdt_state`` (the tree library's own model plus rankwise's parameters);
- ``"text"``: a text ranker (:mod:`rankwise.text.models`): ``model_config`` and
  ``model_state`` (the transformer's weights included), plus ``training``.

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
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's file format is a zip archive
Kind = Literal["neural", "ensemble", "gbdt", "text"]
KINDS = ("neural", "ensemble", "gbdt", "text")


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


def load_weights(module: torch.nn.Module, state: dict[str, Any], where: object) -> None:
    """Load ``state`` into ``module``, or raise a :class:`CheckpointError` that says how
    they differ (the first few parameters whose shapes differ, missing and unexpected
    names) instead of torch's state-dict traceback; ``where`` names the checkpoint.

    A different shape usually means the data changed width (another number of features)
    or the model's config changed since the checkpoint was written.
    """
    own = module.state_dict()
    shapes = [
        f"{name} is {list(value.shape)} in the checkpoint, {list(own[name].shape)} in the model"
        for name, value in state.items()
        if name in own and hasattr(value, "shape") and tuple(value.shape) != tuple(own[name].shape)
    ]
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if shapes or missing or unexpected:
        parts = shapes[:3] + (["..."] if len(shapes) > 3 else [])
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"not in the model: {', '.join(unexpected[:5])}")
        raise CheckpointError(
            f"{where}: the checkpoint's weights do not fit the model ({'; '.join(parts)}); "
            "was it written for other data (another number of features) or another model "
            "config?"
        )
    module.load_state_dict(state)


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
    if p.is_dir():
        raise CheckpointError(f"{path}: a directory without checkpoints/best.pt or last.pt")
    with open(p, "rb") as f:
        head = f.read(8)
    if not head:
        raise CheckpointError(f"{p}: not a checkpoint: the file is empty (0 bytes)")
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(
            f"{p}: not a checkpoint: a checkpoint is a torch.save zip archive (it starts with "
            f"{_ZIP_MAGIC!r}); this file starts with {head!r}"
        )
    try:
        content = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{p}: a damaged or foreign checkpoint, torch cannot read it ({reason})"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a rankwise checkpoint (format {FORMAT!r} expected)")
    return content
