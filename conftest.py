"""Docstring examples (``--doctest-modules``) run with ``torch`` and ``numpy as np``
imported, as a reader of the examples would have them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _doctest_imports(doctest_namespace: dict[str, Any]) -> None:
    doctest_namespace["torch"] = torch
    doctest_namespace["np"] = np
