"""Optional dependencies (the extras): one import guard for all of them."""

from __future__ import annotations

import importlib
from typing import Any

from rankwise.errors import MissingDependencyError


def import_optional(module: str, extra: str, what: str | None = None) -> Any:
    """The module ``module``, or :class:`~rankwise.errors.MissingDependencyError` naming
    the rankwise extra that installs it (``what``: the name the message uses)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what or module} is not installed: pip install 'rankwise[{extra}]'"
        ) from exc
