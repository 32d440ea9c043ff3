"""Trained checkpoints of every exportable kind (one epoch on synthetic data), shared by
the export and service tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rich.console import Console

from rankwise.train.config import load_config
from rankwise.train.experiment import run_experiment

WIDTH = 10
KINDS = {
    "linear": {"model": {"name": "linear"}},
    "mlp": {"model": {"name": "mlp", "params": {"hidden": [16, 8]}}},
    "context_aware": {"model": {"name": "context_aware", "params": {"d_model": 16}}},
    "grownet": {"model": {"name": "grownet"}},
    "ensemble": {"model": {"name": "mlp"}, "training": {"ensemble": 2}},
    "lightgbm": {"model": {"name": "lightgbm", "params": {"n_estimators": 5}}},
}


def train_checkpoint(root: Path, kind: str) -> Path:
    extra = KINDS[kind]
    config = {
        "name": kind,
        "output_dir": str(root),
        "data": {
            "synthetic": {"num_queries": 40, "num_features": WIDTH, "seed": 1},
            # the exported graph and the service must apply the fitted transform
            "transform": [{"name": "signed_log1p"}, {"name": "standardize"}],
            "batch_size": 8,
        },
        "loss": {"name": "softmax"},
        "training": {"epochs": 1, "progress": False, **extra.get("training", {})},
        "model": extra["model"],
        "metrics": ["ndcg@10"],
    }
    path = root / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(config))
    run_experiment(load_config(path), console=Console(quiet=True))
    return root / kind / "checkpoints" / "best.pt"


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serving-runs")
    return {kind: train_checkpoint(root, kind) for kind in KINDS}
