"""Per-item scorers: linear and MLP. Each item is scored from its own features alone."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from rankwise.models.base import RankingModel, apply_items, feed_forward


class LinearScorer(RankingModel):
    """``s = w^T x + b`` per item."""

    name = "linear"

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features)
        self.linear = nn.Linear(num_features, 1)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        self.check_inputs(features, mask)
        return apply_items(self.linear, features, mask).squeeze(-1)


class MLPScorer(RankingModel):
    """A feed-forward network per item: ``hidden`` layers with ``activation``, optional
    ``norm`` ("layer" or "batch", the latter over real items only) and ``dropout``, then
    a linear output. Permutation-equivariant and blind to the rest of the list."""

    name = "mlp"

    def __init__(
        self,
        num_features: int,
        hidden: Sequence[int] = (256, 128),
        activation: str = "relu",
        dropout: float = 0.1,
        norm: str | None = "layer",
    ) -> None:
        super().__init__(
            num_features,
            hidden=list(hidden),
            activation=activation,
            dropout=dropout,
            norm=norm,
        )
        sizes = [num_features, *hidden]
        self.body = feed_forward(sizes, act=activation, dropout=dropout, norm=norm)
        self.head = nn.Linear(sizes[-1], 1)
        self.net = nn.Sequential(self.body, self.head)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        self.check_inputs(features, mask)
        return apply_items(self.net, features, mask).squeeze(-1)
