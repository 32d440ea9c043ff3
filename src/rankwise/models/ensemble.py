"""A seed ensemble: the mean of several rankers' standardized scores.

Deep rankers trained on small data sets (a few hundred queries) differ from seed to
seed by as much as the differences between methods; averaging the scores of a few
independently seeded members removes most of that variance. Each member's scores are
standardized by constants fixed at training time (the mean and standard deviation of
its scores on the training documents), so that members with different score scales
weigh the same and a query's scores never depend on which other queries are scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class ScoreEnsemble(nn.Module):
    """``mean_m((s_m - mean_m) / std_m)`` over the members; 0 at masked positions."""

    def __init__(
        self, members: Sequence[nn.Module], means: Sequence[float], stds: Sequence[float]
    ) -> None:
        super().__init__()
        if not members or not len(members) == len(means) == len(stds):
            raise ValueError("an ensemble needs members with one mean and one std each")
        self.members = nn.ModuleList(members)
        self.means: Tensor
        self.stds: Tensor
        self.register_buffer("means", torch.tensor(list(means), dtype=torch.float32))
        self.register_buffer("stds", torch.tensor([max(s, 1e-12) for s in stds]))

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        total = torch.zeros(mask.shape, dtype=torch.float32, device=features.device)
        for m, member in enumerate(self.members):
            total = total + (member(features, mask).float() - self.means[m]) / self.stds[m]
        return (total / len(self.members)).masked_fill(~mask, 0.0)
