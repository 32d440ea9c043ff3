"""Registries of the components a config names: optimisers, schedulers, transforms,
plus the models (:data:`rankwise.models.MODELS`, :data:`~rankwise.models.GBDT_MODELS`)
and losses (:data:`rankwise.losses.LOSSES`) registered where they are defined."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from rankwise.data.transforms import TRANSFORMS
from rankwise.losses import LOSSES, RankingLoss, hyper_parameters
from rankwise.models import GBDT_MODELS, MODELS
from rankwise.registry import Registry, RegistryError, check_params, did_you_mean

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optimizer", skip=("params",))
for _name, _cls in {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}.items():
    OPTIMIZERS.add(_name, _cls)

SCHEDULERS: Registry[Any] = Registry("scheduler", skip=("optimizer",))
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


def check_loss(name: str, params: Mapping[str, Any], where: str = "loss") -> None:
    if name not in LOSSES:
        raise RegistryError(
            f"{where}.name: unknown loss {name!r}{did_you_mean(name, LOSSES)}; "
            f"known: {', '.join(sorted(LOSSES))}"
        )
    allowed = hyper_parameters(LOSSES[name].function)
    for key in params:
        if key not in allowed:
            raise RegistryError(
                f"{where}.params: unknown parameter {key!r} for loss {name!r}"
                f"{did_you_mean(key, allowed)}; allowed: {', '.join(sorted(allowed))}"
            )


def build_loss_module(name: str, params: Mapping[str, Any]) -> RankingLoss:
    check_loss(name, params)
    return LOSSES[name](**params)


def check_model(name: str, params: Mapping[str, Any], where: str = "model") -> None:
    if name in GBDT_MODELS:
        GBDT_MODELS.check(name, params, where=where)
    elif name in MODELS:
        MODELS.check(name, params, where=where)
    else:
        known = [*MODELS.names(), *GBDT_MODELS.names()]
        raise RegistryError(
            f"{where}.name: unknown model {name!r}{did_you_mean(name, known)}; "
            f"known: {', '.join(sorted(known))}"
        )


def check_transform(name: str, params: Mapping[str, Any], where: str) -> None:
    if name not in TRANSFORMS:
        raise RegistryError(
            f"{where}.name: unknown transform {name!r}{did_you_mean(name, TRANSFORMS)}; "
            f"known: {', '.join(sorted(TRANSFORMS))}"
        )
    check_params(f"transform {name!r}", TRANSFORMS[name], params, where=f"{where}.params")
