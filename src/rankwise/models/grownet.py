r"""GrowNet (Badirli, Liu, Xing, Bhowmik, Doan & Keerthi, "Gradient Boosting Neural
Networks: GrowNet", 2020), trained with any rankwise ranking loss.

An ensemble of shallow networks built stage by stage. Learner k sees the item's
features concatenated with the penultimate layer of learner k-1 and adds its output to
the ensemble: :math:`s = \alpha \sum_k f_k(x, h_{k-1})` with a learnable boost rate
:math:`\alpha`. Stage k first trains learner k alone (earlier learners frozen) on the
ranking loss of the whole ensemble, then runs the *fully corrective step*: every
learner added so far is fine-tuned jointly.

The schedule is a function of the epoch (``on_epoch_start``), so a resumed run follows
it exactly: epochs ``[(k-1) P, (k-1) P + E)`` train learner k alone and the next ``C``
are corrective, with ``E = epochs_per_stage``, ``C = corrective_epochs``, ``P = E + C``.
Epochs after the last stage are corrective. Scoring uses the learners active so far;
a trained model (and a checkpoint) uses all of them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rankwise.models.base import RankingModel, activation


class _WeakLearner(nn.Module):
    def __init__(self, inputs: int, hidden: int, act: str, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(inputs, hidden),
            activation(act),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Linear(hidden, hidden),
            activation(act),
        )
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.out(h).squeeze(-1), h


class GrowNet(RankingModel):
    """Gradient-boosted shallow networks (module docstring).

    Args:
        num_stages: number of weak learners.
        hidden: width of each learner's two hidden layers.
        epochs_per_stage: epochs training a new learner alone.
        corrective_epochs: epochs of the fully corrective step after each stage.
        boost_rate: initial value of the learnable boost rate.
    """

    name = "grownet"

    def __init__(
        self,
        num_features: int,
        num_stages: int = 8,
        hidden: int = 64,
        epochs_per_stage: int = 2,
        corrective_epochs: int = 1,
        boost_rate: float = 1.0,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            num_features,
            num_stages=num_stages,
            hidden=hidden,
            epochs_per_stage=epochs_per_stage,
            corrective_epochs=corrective_epochs,
            boost_rate=boost_rate,
            activation=activation,
            dropout=dropout,
        )
        if num_stages < 1 or epochs_per_stage < 1 or corrective_epochs < 0:
            raise ValueError(
                "grownet: num_stages and epochs_per_stage must be >= 1, corrective_epochs >= 0"
            )
        self.learners = nn.ModuleList(
            _WeakLearner(num_features + (hidden if k else 0), hidden, activation, dropout)
            for k in range(num_stages)
        )
        self.boost_rate = nn.Parameter(torch.tensor(float(boost_rate)))
        # Learners in use; a buffer so that checkpoints restore it.
        self.active: Tensor
        self.register_buffer("active", torch.tensor(num_stages, dtype=torch.long))
        self._frozen_active: int | None = None  # set by freeze_for_export

    @property
    def epochs_for_all_stages(self) -> int:
        """Epochs until the last learner has been added and corrected."""
        per = self.params["epochs_per_stage"] + self.params["corrective_epochs"]
        return int(self.params["num_stages"] * per)

    def schedule(self, epoch: int) -> tuple[int, bool]:
        """(learners active, corrective?) at 0-based ``epoch``."""
        per = self.params["epochs_per_stage"] + self.params["corrective_epochs"]
        stages = self.params["num_stages"]
        if epoch >= stages * per:
            return stages, True
        return epoch // per + 1, epoch % per >= self.params["epochs_per_stage"]

    def freeze_for_export(self) -> None:
        """The number of active learners becomes a constant of the graph (export)."""
        self._frozen_active = int(self.active)

    def on_epoch_start(self, epoch: int) -> None:
        """Activate and freeze learners as the stage schedule says for ``epoch`` (0-based)."""
        active, corrective = self.schedule(epoch)
        self.active.fill_(active)
        for k, learner in enumerate(self.learners):
            trainable = k < active if corrective else k == active - 1
            learner.requires_grad_(trainable)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        self.check_inputs(features, mask)
        x = features[mask]
        total = x.new_zeros(x.shape[0])
        h: Tensor | None = None
        active = self._frozen_active if self._frozen_active is not None else int(self.active)
        for learner in self.learners[:active]:
            f, h = learner(x if h is None else torch.cat([x, h], dim=1))
            total = total + f
        scores = features.new_zeros(mask.shape)
        scores[mask] = (self.boost_rate * total).to(scores.dtype)
        return scores
