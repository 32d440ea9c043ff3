"""Exporting a trained neural ranker, its feature transform included, to ONNX or
TorchScript (``rankwise export``).

The exported graph takes what a client has — raw feature vectors, padded into a batch,
and the mask of real items — and returns scores::

    features: float32 [batch, list, num_features]   (any batch and list length)
    mask:     bool    [batch, list]                  (True for real items)
    scores:   float32 [batch, list]                  (0 at padded positions)

The checkpoint's fitted feature transform (standardize, signed log1p, query min-max,
clip, or a sequence of them) runs inside the graph, so a server scores raw features
exactly as ``rankwise predict`` does. Linear, MLP, context-aware, GrowNet rankers and
seed ensembles export; GBDT checkpoints do not (LightGBM and XGBoost have their own
model files). Text rankers export through :mod:`rankwise.serving.text_export` (token
tensors in; the tokenizer is written beside the graph).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torch.jit._trace import TracerWarning

from rankwise.errors import CheckpointError
from rankwise.models.base import RankingModel
from rankwise.train.checkpoint import Checkpoint
from rankwise.train.predict import load_predictor

Format = Literal["onnx", "torchscript"]


class RawFeatureRanker(nn.Module):
    """``transform`` then ``model``: ``(features [B, L, F], mask [B, L]) -> scores [B, L]``
    with 0 at padded positions."""

    def __init__(self, model: nn.Module, transform: nn.Module | None, num_features: int) -> None:
        super().__init__()
        self.model = model
        self.transform = transform if transform is not None else _Identity()
        self.num_features = num_features

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        x = self.transform(features, mask)
        scores: Tensor = self.model(x, mask)
        return scores.float().masked_fill(~mask, 0.0)


class _Identity(nn.Module):
    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        return features


def raw_feature_ranker(checkpoint: str | Path) -> RawFeatureRanker:
    """The ranker of a neural checkpoint (or run directory) with its transform, in eval
    mode on the CPU.

    Raises:
        CheckpointError: a GBDT or text checkpoint, or one without a feature width.
    """
    predictor = load_predictor(checkpoint)
    if predictor.kind != "neural":
        raise CheckpointError(
            f"{checkpoint}: a {predictor.kind} model cannot be exported as a tensor graph "
            "(export neural rankers: linear, mlp, context_aware, grownet, ensembles)"
        )
    transform = predictor.transform
    width = transform.num_features if transform is not None else predictor.num_features
    if width is None:
        raise CheckpointError(f"{checkpoint}: the checkpoint does not record its feature width")
    module = transform.torch_module() if transform is not None else None
    for part in predictor.model.modules():
        if isinstance(part, RankingModel):
            part.freeze_for_export()
    ranker = RawFeatureRanker(predictor.model, module, int(width))
    return ranker.eval()


def _example(width: int) -> tuple[Tensor, Tensor]:
    features = torch.randn(2, 5, width)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    return features, mask


def export_model(
    checkpoint: str | Path, output: str | Path, *, format: Format = "onnx", opset: int = 18
) -> Path:
    """Write the ranker of ``checkpoint`` (module docstring) to ``output``.

    ``format="onnx"``: an ONNX model with dynamic batch and list axes (opset ``opset``),
    checked by ``onnx.checker``; ``"torchscript"``: a scripted-by-tracing module for
    ``torch.jit.load``. A text checkpoint goes to
    :func:`~rankwise.serving.text_export.export_text_ranker`. Returns the written path.
    """
    if Checkpoint.load(checkpoint).kind == "text":
        from rankwise.serving.text_export import export_text_ranker
        from rankwise.train.predict import load_text_ranker

        return export_text_ranker(load_text_ranker(checkpoint), output, format=format, opset=opset)
    ranker = raw_feature_ranker(checkpoint)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    example = _example(ranker.num_features)
    with torch.no_grad(), warnings.catch_warnings():
        # the input checks are Python conditions the trace records as constants: right
        # for the shapes any caller passes (they are checked before scoring anyway)
        warnings.simplefilter("ignore", TracerWarning)
        if format == "torchscript":
            traced = torch.jit.trace(ranker, example, check_trace=False)  # type: ignore[no-untyped-call]
            traced.save(str(target))
            return target
        if format != "onnx":
            raise ValueError(f"format must be 'onnx' or 'torchscript', got {format!r}")
        batch = torch.export.Dim("batch", min=1)
        length = torch.export.Dim("list", min=1)
        torch.onnx.export(
            ranker,
            example,
            str(target),
            input_names=["features", "mask"],
            output_names=["scores"],
            dynamic_shapes={"features": {0: batch, 1: length}, "mask": {0: batch, 1: length}},
            opset_version=opset,
            dynamo=True,
        )
    import onnx

    onnx.checker.check_model(onnx.load(str(target)))
    return target
