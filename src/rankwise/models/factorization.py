"""Matrix factorisation for implicit-feedback recommendation, and the popularity baseline."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rankwise.data.interactions import Interactions


class MatrixFactorization(nn.Module):
    """User and item embeddings; the score is their dot product, or their cosine
    similarity with ``cosine=True`` (SimpleX's choice, needed by CCL and PSL).

    ``forward(users [B], items [B, n]) -> scores [B, n]``.
    """

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
        u, i = self._vectors(users, items)
        return torch.einsum("bd,bnd->bn", u, i)

    @torch.no_grad()
    def all_scores(self) -> Tensor:
        """Scores [num_users, num_items] for full-ranking evaluation."""
        device = self.users.weight.device
        u, i = self._vectors(
            torch.arange(self.users.num_embeddings, device=device),
            torch.arange(self.items.num_embeddings, device=device),
        )
        return u @ i.T


def popularity_scores(data: Interactions) -> Tensor:
    """Every user's scores [U, I]: each item's number of training interactions."""
    counts = torch.bincount(data.train[:, 1], minlength=data.num_items).to(torch.float32)
    return counts.expand(data.num_users, -1)
