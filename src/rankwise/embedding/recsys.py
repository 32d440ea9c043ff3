"""Implicit-feedback recommendation: MovieLens reading, a matrix-factorisation model trained
with the sampled-negative losses of :mod:`rankwise.embedding.recommendation`, and
full-ranking evaluation.

Protocol (the usual one for MovieLens 100K in BPR / SimpleX-style work): every rating is
an interaction (implicit feedback); a user's test items are ranked against *all* items
the user did not interact with in training (no sampled evaluation), and Recall@K and
NDCG@K (binary gain) are averaged over users with at least one test item, using
rankwise's metrics (ties averaged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rankwise.embedding import recommendation as R
from rankwise.functional.metrics import ndcg, recall


@dataclass(frozen=True)
class Interactions:
    """Train and test (user, item) pairs with 0-based ids."""

    num_users: int
    num_items: int
    train: Tensor  # [T, 2] long
    test: Tensor  # [S, 2] long


def load_movielens(root: str | Path, split: str = "u1") -> Interactions:
    """MovieLens 100K's ``{split}.base`` / ``{split}.test`` (tab-separated user, item,
    rating, timestamp; 1-based ids) from ``root``. Raises ``FileNotFoundError`` naming the
    missing file. The data's licence forbids redistribution: read it where it lies."""
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


class MatrixFactorization(nn.Module):
    """User and item embeddings; the score is their dot product, or their cosine
    similarity with ``cosine=True`` (SimpleX's choice, needed by CCL and PSL)."""

    def __init__(self, num_users: int, num_items: int, dim: int = 64, cosine: bool = False):
        super().__init__()
        self.users = nn.Embedding(num_users, dim)
        self.items = nn.Embedding(num_items, dim)
        nn.init.normal_(self.users.weight, std=0.1)
        nn.init.normal_(self.items.weight, std=0.1)
        self.cosine = cosine

    def _vectors(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        u, i = self.users(users), self.items(items)
        if self.cosine:
            u, i = F.normalize(u, dim=-1), F.normalize(i, dim=-1)
        return u, i

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        """Scores of ``items`` [B, n] for ``users`` [B]: [B, n]."""
        u, i = self._vectors(users, items)
        return torch.einsum("bd,bnd->bn", u, i)

    @torch.no_grad()
    def all_scores(self) -> Tensor:
        """Scores [num_users, num_items] for full-ranking evaluation."""
        u, i = self._vectors(
            torch.arange(self.users.num_embeddings), torch.arange(self.items.num_embeddings)
        )
        return u @ i.T


PairLoss = Callable[[Tensor, Tensor], Tensor]

RECOMMENDATION_LOSSES: dict[str, tuple[PairLoss, bool]] = {
    # name: (loss on (pos_scores [B], neg_scores [B, n]), cosine scores?)
    "bpr": (lambda p, n: R.bpr_loss(p, n), False),
    "sampled_softmax": (lambda p, n: R.sampled_softmax_loss(p, n), False),
    "ccl": (lambda p, n: R.ccl_loss(p, n, margin=0.5, negative_weight=10.0), True),
    "psl": (lambda p, n: R.psl_recommendation_loss(p, n, temperature=0.2), True),
    # weight_temperature 1.0 (the paper's default): at 0.2 the top-K weight's own gradient
    # outweighs the softmax term and pushes positives down (MovieLens u1 Recall@20 0.03).
    "sl_at_k": (
        lambda p, n: R.sl_at_k_recommendation_loss(
            p, n, k=20, temperature=0.2, weight_temperature=1.0
        ),
        True,
    ),
}


def train_recommender(
    data: Interactions,
    loss: str,
    *,
    dim: int = 64,
    epochs: int = 30,
    negatives: int = 64,
    batch_size: int = 1024,
    lr: float = 5e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> MatrixFactorization:
    """Train a :class:`MatrixFactorization` with one of ``RECOMMENDATION_LOSSES`` on the
    training pairs, ``negatives`` items drawn uniformly per pair (uniform sampling: the
    sampled softmax's log-Q correction is a constant and is left out)."""
    if loss not in RECOMMENDATION_LOSSES:
        raise ValueError(
            f"unknown recommendation loss {loss!r}; known: {sorted(RECOMMENDATION_LOSSES)}"
        )
    loss_fn, cosine = RECOMMENDATION_LOSSES[loss]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MatrixFactorization(data.num_users, data.num_items, dim, cosine=cosine)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    pairs = data.train
    for _ in range(epochs):
        order = torch.randperm(pairs.shape[0], generator=generator)
        for start in range(0, pairs.shape[0], batch_size):
            batch = pairs[order[start : start + batch_size]]
            users, pos = batch[:, 0], batch[:, 1]
            neg = torch.randint(data.num_items, (batch.shape[0], negatives), generator=generator)
            scores = model(users, torch.cat([pos.unsqueeze(1), neg], dim=1))
            value = loss_fn(scores[:, 0], scores[:, 1:])
            optimizer.zero_grad()
            value.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    model.eval()
    return model


def popularity_scores(data: Interactions) -> Tensor:
    """Every user's scores [U, I]: each item's number of training interactions."""
    counts = torch.bincount(data.train[:, 1], minlength=data.num_items).to(torch.float32)
    return counts.expand(data.num_users, -1)


def evaluate_full_ranking(data: Interactions, scores: Tensor, k: int = 20) -> dict[str, float]:
    """Mean Recall@k and NDCG@k (binary gain) over users with a test item, each user's
    training items removed from the ranking (masked out, not scored low)."""
    labels = torch.zeros(data.num_users, data.num_items)
    labels[data.test[:, 0], data.test[:, 1]] = 1.0
    mask = torch.ones(data.num_users, data.num_items, dtype=torch.bool)
    mask[data.train[:, 0], data.train[:, 1]] = False
    has_test = labels.sum(1) > 0
    s, y, m = scores[has_test].to(torch.float32), labels[has_test], mask[has_test]
    return {
        f"recall@{k}": float(recall(s, y, mask=m, k=k, empty="skip")),
        f"ndcg@{k}": float(ndcg(s, y, mask=m, k=k, gain="linear", empty="skip")),
        "users": float(has_test.sum()),
    }


def user_slice(data: Interactions, num_users: int) -> Interactions:
    """The interactions of the first ``num_users`` users (item ids kept)."""
    keep_train = data.train[:, 0] < num_users
    keep_test = data.test[:, 0] < num_users
    return Interactions(num_users, data.num_items, data.train[keep_train], data.test[keep_test])
