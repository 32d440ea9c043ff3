r"""The context-aware self-attention ranker (Pobrotyn, Bartczak, Synowiec, Białobrzeski &
Bojar, "Context-Aware Learning to Rank with Self-Attention", SIGIR eCom 2020).

Each item's features go through a per-item feed-forward projection to ``d_model``; a
Transformer encoder then lets every item attend to every other real item of its list
(the padding is the key padding mask); a per-item head gives the score. Without a
position encoding (the default) the model is permutation-equivariant: permuting a
list's items permutes its scores the same way. ``position_encoding="learned"`` or
``"sinusoidal"`` adds an encoding of each item's position in the input list, i.e. of an
initial ranking the list arrives sorted by (the paper's re-ranking setting).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rankwise.models.base import RankingModel, apply_items, feed_forward
from rankwise.models.base import activation as activation_module


class ContextAwareRanker(RankingModel):
    """Per-item projection, Transformer encoder over the list, per-item head.

    Args:
        num_features: input width F.
        d_model: width of the attention layers.
        input_hidden: hidden layers of the projection before ``d_model``.
        num_layers, num_heads, ff_dim: encoder depth, heads and feed-forward width.
        dropout: dropout in the projection and the encoder.
        activation: of the encoder's feed-forward blocks ("gelu" or "relu").
        input_activation: after each projection layer (None: a linear projection, as
            allRank's NeuralNDCG configurations).
        output_activation: applied to the scores (None, or e.g. "tanh" as in those
            configurations).
        norm_first: pre-norm encoder layers (more stable; the paper uses post-norm).
        position_encoding: None (permutation-equivariant), "learned" or "sinusoidal".
        max_positions: longest list a learned encoding supports.
    """

    name = "context_aware"

    def __init__(
        self,
        num_features: int,
        d_model: int = 128,
        input_hidden: Sequence[int] = (),
        num_layers: int = 2,
        num_heads: int = 4,
        ff_dim: int = 256,
        dropout: float = 0.1,
        activation: str = "gelu",
        input_activation: str | None = "gelu",
        output_activation: str | None = None,
        norm_first: bool = True,
        position_encoding: str | None = None,
        max_positions: int = 1024,
    ) -> None:
        super().__init__(
            num_features,
            d_model=d_model,
            input_hidden=list(input_hidden),
            num_layers=num_layers,
            num_heads=num_heads,
            ff_dim=ff_dim,
            dropout=dropout,
            activation=activation,
            input_activation=input_activation,
            output_activation=output_activation,
            norm_first=norm_first,
            position_encoding=position_encoding,
            max_positions=max_positions,
        )
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        if position_encoding not in (None, "learned", "sinusoidal"):
            raise ValueError(
                "position_encoding must be None, 'learned' or 'sinusoidal', "
                f"got {position_encoding!r}"
            )
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation must be 'gelu' or 'relu', got {activation!r}")
        sizes = [num_features, *input_hidden, d_model]
        if input_activation is None:
            self.project: nn.Module = nn.Sequential(
                *(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
            )
        else:
            self.project = feed_forward(sizes, act=input_activation, dropout=dropout)
        self.output_activation = (
            activation_module(output_activation) if output_activation else nn.Identity()
        )
        self.position: nn.Module | None = None
        if position_encoding == "learned":
            self.position = nn.Embedding(max_positions, d_model)
        elif position_encoding == "sinusoidal":
            self.position = _Sinusoidal(d_model, max_positions)
        layer = nn.TransformerEncoderLayer(
            d_model,
            num_heads,
            dim_feedforward=ff_dim,
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )
        # enable_nested_tensor would drop padded positions in eval mode only; keeping one
        # code path makes training and evaluation numerically identical.
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.head = nn.Linear(d_model, 1)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        self.check_inputs(features, mask)
        h = apply_items(self.project, features, mask)
        if self.position is not None:
            length = features.shape[1]
            if isinstance(self.position, nn.Embedding) and length > self.position.num_embeddings:
                raise ValueError(
                    f"list of length {length} exceeds max_positions={self.position.num_embeddings}"
                )
            h = h + self.position(torch.arange(length, device=h.device)).unsqueeze(0)
        # A list with no real item would make every attention row all -inf (NaN): let its
        # first position attend to itself; its outputs are zeroed below.
        # (Without a data-dependent branch, so the model exports to ONNX.)
        empty = ~mask.any(dim=1, keepdim=True)
        first = torch.arange(mask.shape[1], device=mask.device) == 0
        padding = ~mask & ~(empty & first)
        h = self.encoder(h, src_key_padding_mask=padding)
        scores: Tensor = self.output_activation(self.head(self.final_norm(h)).squeeze(-1))
        return scores.masked_fill(~mask, 0.0)


class _Sinusoidal(nn.Module):
    """Fixed sinusoidal position encoding (Vaswani et al. 2017)."""

    def __init__(self, d_model: int, max_positions: int) -> None:
        super().__init__()
        self.d_model = d_model

    def forward(self, positions: Tensor) -> Tensor:
        half = self.d_model // 2
        freq = torch.exp(
            -math.log(10000.0) * torch.arange(half, device=positions.device) / max(half, 1)
        )
        angle = positions.float().unsqueeze(1) * freq.unsqueeze(0)
        enc = torch.cat([angle.sin(), angle.cos()], dim=1)
        if enc.shape[1] < self.d_model:
            enc = torch.nn.functional.pad(enc, (0, self.d_model - enc.shape[1]))
        return enc
