"""Scoring data with a trained ranker, and loading rankers from checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from rankwise.data.dataset import make_loader
from rankwise.data.ranking_data import RankingData
from rankwise.data.transforms import FeatureTransform, transform_from_state
from rankwise.models.base import build_model
from rankwise.models.ensemble import ScoreEnsemble
from rankwise.models.gbdt import GBDTRanker
from rankwise.train.checkpoint import CheckpointError, load_checkpoint


@torch.no_grad()
def predict_scores(
    model: nn.Module,
    data: RankingData,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> npt.NDArray[np.float64]:
    """One score per document of ``data``, in document order (eval mode, no sampling)."""
    model.eval()
    dev = torch.device(device)
    out = np.zeros(data.num_documents, dtype=np.float64)
    offsets = data.query_offsets
    for batch in make_loader(data, batch_size):
        scores = model(batch.features.to(dev), batch.mask.to(dev)).float().cpu().numpy()
        for b, q in enumerate(batch.query_index.tolist()):
            lo, hi = int(offsets[q]), int(offsets[q + 1])
            out[lo:hi] = scores[b, : hi - lo]
    return out


@dataclass
class Predictor:
    """A trained ranker with its feature transform: ``predict(data) -> scores``."""

    kind: str  # "neural" or "gbdt"
    model: Any  # nn.Module or GBDTRanker
    transform: FeatureTransform | None
    metrics: list[str]
    checkpoint: dict[str, Any]

    @property
    def num_features(self) -> int | None:
        config = self.checkpoint.get("model_config") or {}
        value = config.get("num_features")
        return int(value) if value is not None else None

    def prepare(self, data: RankingData) -> RankingData:
        """Apply the training run's feature transform (checking the width)."""
        expected = self.transform.num_features if self.transform is not None else self.num_features
        if expected is not None and data.num_features != expected:
            raise ValueError(
                f"the data have {data.num_features} features, the model was trained on {expected}"
            )
        return self.transform.transform(data) if self.transform is not None else data

    def predict(
        self, data: RankingData, *, batch_size: int = 256, device: str = "cpu"
    ) -> npt.NDArray[np.float64]:
        prepared = self.prepare(data)
        if self.kind == "gbdt":
            assert isinstance(self.model, GBDTRanker)
            return self.model.predict(prepared)
        return predict_scores(self.model.to(device), prepared, batch_size=batch_size, device=device)


def load_predictor(path: str | Path) -> Predictor:
    """Load a checkpoint file (or a run directory: its best checkpoint)."""
    ckpt = load_checkpoint(path)
    transform = transform_from_state(ckpt["transform"]) if ckpt.get("transform") else None
    metrics = list(ckpt.get("metrics", []))
    if ckpt.get("kind") == "gbdt":
        model: Any = GBDTRanker.from_state(ckpt["gbdt_state"])
        return Predictor("gbdt", model, transform, metrics, ckpt)
    if ckpt.get("kind") == "ensemble":
        members = []
        for member in ckpt["members"]:
            net = build_model(member["model_config"])
            net.load_state_dict(member["model_state"])
            members.append(net.eval())
        ensemble = ScoreEnsemble(members, ckpt["means"], ckpt["stds"]).eval()
        return Predictor("neural", ensemble, transform, metrics, ckpt)
    config = ckpt.get("model_config")
    if not config:
        raise CheckpointError(f"{path}: the checkpoint has no model config")
    net = build_model(config)
    net.load_state_dict(ckpt["model_state"])
    net.eval()
    return Predictor("neural", net, transform, metrics, ckpt)
