"""MovieLens 100K as :class:`~rankwise.data.interactions.Interactions`.

The data's licence forbids redistribution: read it where it lies (``RANKWISE_DATA_DIR``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rankwise.data.interactions import Interactions


def load_movielens(root: str | Path, split: str = "u1") -> Interactions:
    """MovieLens 100K's ``{split}.base`` / ``{split}.test`` (tab-separated user, item,
    rating, timestamp; 1-based ids) from ``root``; every rating is an interaction
    (implicit feedback). Raises ``FileNotFoundError`` naming the missing file."""
    root = Path(root)
    arrays = []
    for part in ("base", "test"):
        path = root / f"{split}.{part}"
        if not path.is_file():
            raise FileNotFoundError(f"MovieLens file {path} is missing")
        arrays.append(np.loadtxt(path, dtype=np.int64, usecols=(0, 1), ndmin=2) - 1)
    info = root / "u.info"
    if info.is_file():
        counts = dict(line.split()[::-1] for line in info.read_text().splitlines() if line.strip())
        users, items = int(counts["users"]), int(counts["items"])
    else:
        users = int(max(a[:, 0].max() for a in arrays)) + 1
        items = int(max(a[:, 1].max() for a in arrays)) + 1
    return Interactions(users, items, torch.from_numpy(arrays[0]), torch.from_numpy(arrays[1]))
