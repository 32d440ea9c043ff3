"""Shared fixtures.

Real benchmark data and golden reference files live outside the repository (their
licences forbid redistribution). Tests that need them read ``RANKWISE_DATA_DIR``
(default ``../shared/data``) or ``RANKWISE_GOLDEN_DIR`` (default ``../shared/golden``)
and FAIL, never skip, when the folder is missing: a CI run without the data must not
look green.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _folder(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value) if value else default


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _folder("RANKWISE_DATA_DIR", REPO.parent / "shared" / "data")
    if not path.is_dir():
        pytest.fail(
            f"benchmark data folder {path} is missing; set RANKWISE_DATA_DIR to the folder "
            "holding letor4-mq2008/, letor3-ohsumed/, ... (see README)"
        )
    return path


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    path = _folder("RANKWISE_GOLDEN_DIR", REPO.parent / "shared" / "golden")
    if not path.is_dir():
        pytest.fail(f"golden reference folder {path} is missing; set RANKWISE_GOLDEN_DIR")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never let a test write into the user's real cache directory."""
    monkeypatch.setenv("RANKWISE_CACHE_DIR", str(tmp_path_factory.mktemp("rankwise-cache")))
