"""The scorer contract and the base class of rankwise's neural rankers.

A scorer maps a padded batch of lists to one score per item:
``forward(features [B, L, F], mask [B, L]) -> scores [B, L]`` (mask True = real item).
Scores at masked positions are 0 and carry no meaning; losses and metrics ignore them.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar, Protocol, runtime_checkable

from torch import Tensor, nn

from rankwise.functional._checks import check_features
from rankwise.registry import Registry


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores a padded, masked batch of lists."""

    def __call__(self, features: Tensor, mask: Tensor) -> Tensor: ...


#: The neural rankers by name (kind ``"model"``).
MODELS: Registry[RankingModel] = Registry("model", supplied=("num_features",))


class RankingModel(nn.Module):
    """Base class of the registered neural rankers.

    Subclasses set ``name`` (their registry key) and take ``num_features`` first; the
    other constructor arguments are recorded in :attr:`config`, which together with the
    weights rebuilds the model (checkpoints carry both).
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            MODELS.add(cls.name, cls)

    def __init__(self, num_features: int, **params: Any) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(
                f"{type(self).__name__}: num_features must be >= 1, got {num_features}"
            )
        self.num_features = num_features
        self.params = dict(params)

    @property
    def config(self) -> dict[str, Any]:
        """``{"name", "num_features", "params"}``: what :func:`build_model` needs."""
        return {"name": self.name, "num_features": self.num_features, "params": dict(self.params)}

    def check_inputs(self, features: Tensor, mask: Tensor) -> None:
        """Raise a ``ValueError`` naming the model unless the inputs have its shapes."""
        check_features(features, mask, self.num_features, type(self).__name__)

    def on_epoch_start(self, epoch: int) -> None:
        """Called by the trainer before each epoch (0-based); staged models use it."""

    def freeze_for_export(self) -> None:
        """Fix state the forward pass reads as a Python value (GrowNet's number of active
        learners) so that the pass is one static graph for ONNX export; a no-op for
        models without such state."""


def build_model(config: dict[str, Any]) -> RankingModel:
    """A model from ``{"name", "num_features", "params"}`` (e.g. a checkpoint's config)."""
    name = config.get("name")
    if not isinstance(name, str):
        raise ValueError("model config needs a 'name'")
    return MODELS.build(name, config.get("params", {}), num_features=int(config["num_features"]))


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    """An activation module by name (relu, gelu, tanh, silu, leaky_relu)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def feed_forward(
    sizes: list[int],
    *,
    act: str = "relu",
    dropout: float = 0.0,
    norm: str | None = None,
    last_activation: bool = True,
) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ...``, each followed by norm, activation
    and dropout (the last one too when ``last_activation``). ``norm``: None, "layer"
    or "batch" (with :func:`apply_items`, batch statistics are over real items only)."""
    if norm not in (None, "layer", "batch"):
        raise ValueError(f"norm must be None, 'layer' or 'batch', got {norm!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_activation:
            if norm == "layer":
                layers.append(nn.LayerNorm(b))
            elif norm == "batch":
                layers.append(nn.BatchNorm1d(b))
            layers.append(activation(act))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def apply_items(module: nn.Module, x: Tensor, mask: Tensor) -> Tensor:
    """Apply a per-item module to the real items of ``x`` [B, L, F] only.

    Padded items are never computed (their output is 0), so batch statistics (batch
    norm) see real items only and padding costs nothing.
    """
    flat = x[mask]
    out = module(flat)
    result = x.new_zeros((*mask.shape, out.shape[-1]))
    result[mask] = out.to(result.dtype)
    return result
