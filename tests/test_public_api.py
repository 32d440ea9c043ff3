"""The public surface: every package's ``__all__`` exists and is sorted out, and each name
has one public home (the top-level ``rankwise`` re-exports the main ones)."""

from __future__ import annotations

import importlib
import inspect

import pytest

import rankwise

PACKAGES = [
    "rankwise.aggregate",
    "rankwise.data",
    "rankwise.distributed",
    "rankwise.errors",
    "rankwise.functional",
    "rankwise.losses",
    "rankwise.metrics",
    "rankwise.models",
    "rankwise.registry",
    "rankwise.report",
    "rankwise.runs",
    "rankwise.train",
]


@pytest.mark.parametrize("name", ["rankwise", *PACKAGES])
def test_every_name_in_all_exists(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:  # single modules without __all__ export their public defs
        return
    assert len(exported) == len(set(exported)), f"{name}: a name listed twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists missing names {missing}"


def _public_objects(name: str) -> dict[int, str]:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and v.__module__ == module.__name__
        ]
    out = {}
    for n in names:
        value = getattr(module, n)
        if inspect.isfunction(value) or inspect.isclass(value):
            out[id(value)] = f"{name}.{n}"
    return out


def test_each_function_and_class_has_one_public_home():
    homes: dict[int, list[str]] = {}
    for name in PACKAGES:
        for key, path in _public_objects(name).items():
            homes.setdefault(key, []).append(path)
    twice = sorted(paths for paths in homes.values() if len(paths) > 1)
    assert not twice, f"names with several public homes: {twice}"


def test_the_top_level_surface_comes_from_the_packages():
    homes = {}
    for name in PACKAGES:
        homes.update(_public_objects(name))
    for name in rankwise.__all__:
        value = getattr(rankwise, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert id(value) in homes, f"rankwise.{name} is not exported by any package"


def test_no_shim_modules_are_left():
    for old in ("rankwise.sorting", "rankwise.embedding", "rankwise.functional.losses"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
