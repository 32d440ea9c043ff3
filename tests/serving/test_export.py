"""Exported rankers (ONNX through ONNX Runtime, TorchScript) score raw features as
``rankwise predict`` does, for every neural kind, on lists of several lengths, padded
into one batch and one list at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from rankwise.data.ranking_data import RankingData
from rankwise.errors import CheckpointError
from rankwise.serving.export import export_model
from rankwise.train.predict import load_predictor
from tests.serving.conftest import WIDTH

NEURAL = ["linear", "mlp", "context_aware", "grownet", "ensemble"]
LENGTHS = [1, 4, 17, 60]


def _lists(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # raw features on several scales: the transform inside the graph must matter
    return [
        (rng.standard_normal((n, WIDTH)) * rng.uniform(0.1, 50, WIDTH)).astype(np.float32)
        for n in LENGTHS
    ]


def _offline(checkpoint: Path, lists: list[np.ndarray]) -> list[np.ndarray]:
    """``rankwise predict``'s scores (numpy transform, the model in PyTorch)."""
    lengths = [x.shape[0] for x in lists]
    data = RankingData.from_documents(
        np.concatenate(lists),
        np.zeros(sum(lengths), dtype=np.float32),
        np.repeat(np.arange(len(lists)), lengths),
    )
    scores = load_predictor(checkpoint).predict(data)
    cuts = np.cumsum([0, *lengths])
    return [scores[cuts[i] : cuts[i + 1]] for i in range(len(lists))]


def _padded(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    longest = max(x.shape[0] for x in lists)
    features = np.zeros((len(lists) + 1, longest, WIDTH), dtype=np.float32)
    mask = np.zeros((len(lists) + 1, longest), dtype=bool)  # the last list is empty
    for i, x in enumerate(lists):
        features[i, : x.shape[0]] = x
        mask[i, : x.shape[0]] = True
    return features, mask


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("kind", NEURAL)
def test_onnx_and_torchscript_score_as_predict(checkpoints, tmp_path, kind):
    checkpoint = checkpoints[kind]
    onnx_path = export_model(checkpoint, tmp_path / "model.onnx", format="onnx")
    script_path = export_model(checkpoint, tmp_path / "model.pt", format="torchscript")
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    script = torch.jit.load(str(script_path))
    lists = _lists()
    expected = _offline(checkpoint, lists)
    features, mask = _padded(lists)
    onnx_scores = session.run(None, {"features": features, "mask": mask})[0]
    with torch.no_grad():
        script_scores = script(torch.from_numpy(features), torch.from_numpy(mask)).numpy()
    for i, want in enumerate(expected):
        n = want.shape[0]
        _close(onnx_scores[i, :n], want)  # padded into one batch
        _close(script_scores[i, :n], want)
        assert not np.any(onnx_scores[i, n:])  # padding scores 0
        alone = session.run(None, {"features": lists[i][None], "mask": np.ones((1, n), bool)})
        _close(alone[0][0], want)  # one unpadded list
    assert not np.any(onnx_scores[-1]) and not np.any(script_scores[-1])  # the empty list
    assert np.all(np.isfinite(onnx_scores))


def test_a_gbdt_checkpoint_is_refused_by_name(checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match="gbdt model cannot be exported"):
        export_model(checkpoints["lightgbm"], tmp_path / "m.onnx")


def test_the_export_command_writes_onnx(checkpoints, tmp_path):
    out = tmp_path / "cli.onnx"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "rankwise"),
            "export",
            str(checkpoints["mlp"]),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "(onnx)" in done.stdout
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features", "mask"]
    assert session.get_inputs()[0].shape[2] == WIDTH
