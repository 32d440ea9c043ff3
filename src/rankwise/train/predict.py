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
from rankwise.errors import CheckpointError
from rankwise.models.base import build_model
from rankwise.models.ensemble import ScoreEnsemble
from rankwise.models.gbdt import GBDTRanker
from rankwise.train.checkpoint import Checkpoint, load_weights


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

    kind: str  # "neural" or "gbdt" (an ensemble predicts as one neural model)
    model: Any  # nn.Module or GBDTRanker
    transform: FeatureTransform | None
    checkpoint: Checkpoint

    @property
    def metrics(self) -> list[str]:
        return list(self.checkpoint.metrics)

    @property
    def run_name(self) -> str:
        """The name of the run that trained the model (``"rankwise"`` if unknown)."""
        return str((self.checkpoint.config or {}).get("name") or "rankwise")

    @property
    def num_features(self) -> int | None:
        """The feature width the model was trained on (None if unknown)."""
        config = self.checkpoint.model_config or {}
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
        """One score per document of ``data`` (its features transformed as in training)."""
        prepared = self.prepare(data)
        if self.kind == "gbdt":
            assert isinstance(self.model, GBDTRanker)
            return self.model.predict(prepared)
        return predict_scores(self.model.to(device), prepared, batch_size=batch_size, device=device)


def _network(
    config: dict[str, Any] | None, state: dict[str, Any] | None, path: object
) -> nn.Module:
    if not config or state is None:
        raise CheckpointError(f"{path}: the checkpoint has no model config or weights")
    net = build_model(config)
    load_weights(net, state, path)
    return net.eval()


def load_text_ranker(path: str | Path) -> nn.Module:
    """The text ranker of a ``"text"`` checkpoint (or a run directory: its best one),
    in eval mode; its base transformer is built from its local folder, then the
    checkpoint's weights are loaded."""
    from rankwise.text.models import build_text_model

    ckpt = Checkpoint.load(path)
    if ckpt.kind != "text" or not ckpt.model_config or ckpt.model_state is None:
        raise CheckpointError(f"{path}: not a text model checkpoint (kind {ckpt.kind!r})")
    model = build_text_model(ckpt.model_config)
    load_weights(model, ckpt.model_state, path)
    return model.eval()


def load_predictor(path: str | Path) -> Predictor:
    """Load a checkpoint file (or a run directory: its best checkpoint)."""
    ckpt = Checkpoint.load(path)
    if ckpt.kind == "text":
        raise CheckpointError(
            f"{path}: a text ranker scores queries and passages, not feature vectors: use "
            "'rankwise text rerank --model' (or rankwise.train.predict.load_text_ranker)"
        )
    transform = transform_from_state(ckpt.transform) if ckpt.transform else None
    if ckpt.kind == "gbdt":
        if ckpt.gbdt_state is None:
            raise CheckpointError(f"{path}: a GBDT checkpoint without the tree model")
        try:
            trees = GBDTRanker.from_state(ckpt.gbdt_state)
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        return Predictor("gbdt", trees, transform, ckpt)
    if ckpt.kind == "ensemble":
        members = [
            _network(m.get("model_config"), m.get("model_state"), path) for m in ckpt.members or []
        ]
        ensemble = ScoreEnsemble(members, ckpt.means or [], ckpt.stds or []).eval()
        return Predictor("neural", ensemble, transform, ckpt)
    return Predictor("neural", _network(ckpt.model_config, ckpt.model_state, path), transform, ckpt)
