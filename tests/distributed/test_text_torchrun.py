"""Text rankers under a real ``torchrun`` (2 CPU processes, gloo): the weights of 2
processes with b lists each equal those of 1 process with 2b lists (list losses, and a
bi-encoder's InfoNCE over in-batch negatives gathered from both); rank 0 alone builds
the cached passage vectors and writes the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from rankwise.text.models import build_text_model
from rankwise.train.checkpoint import Checkpoint
from tests.distributed.test_torchrun import _rows, _train
from tests.text.conftest import build_tiny_bert


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    # no dropout: the processes' random streams differ, the weights must not
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert-ddp"), dropout=0.0)


def _config(
    tmp_path: Path, data_dir: Path, tiny_bert: Path, model: str, params: dict, loss: dict
) -> Path:
    config = {
        "name": model,
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "data": {
            "text": {"collection": str(data_dir / "cranfield"), "depth": 8, "list_size": 4},
            "eval_batch_size": 7,
        },
        "model": {"name": model, "params": {**params, "path": str(tiny_bert)}},
        "loss": loss,
        "optimizer": {"name": "sgd", "params": {"lr": 0.5}},
        "training": {"epochs": 2, "progress": False, "early_stopping": None},
        "metrics": ["ndcg@10"],
    }
    path = tmp_path / f"{model}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "params", "loss", "lr"),
    [
        ("cross_encoder", {"pooling": "mean"}, {"name": "softmax"}, 0.5),
        (
            "list_reranker",
            {"d_model": 16, "num_heads": 2, "dropout": 0.0},
            {"name": "softmax"},
            0.5,
        ),
        # in-batch negatives gathered from both processes; InfoNCE at temperature 0.05
        # scales gradients by 20, so a smaller step keeps float32 rounding (passages
        # padded to other lengths in the two runs) under the tolerance
        ("bi_encoder", {}, {"name": "info_nce", "params": {"temperature": 0.05}}, 0.05),
    ],
)
def test_two_processes_train_a_text_ranker_like_one_with_twice_the_batch(
    tmp_path, data_dir, tiny_bert, model, params, loss, lr
):
    config = _config(tmp_path, data_dir, tiny_bert, model, params, loss)
    step = f"optimizer.params.lr={lr}"
    two = _train(2, config, "data.batch_size=3", "name=two", step)
    _train(1, config, "data.batch_size=6", "name=one", step)
    runs = tmp_path / "runs"
    first = Checkpoint.load(runs / "two" / "checkpoints" / "last.pt")
    w2, w1 = (
        first.model_state,
        Checkpoint.load(runs / "one" / "checkpoints" / "last.pt").model_state,
    )
    assert first.kind == "text" and w1 is not None and w2 is not None and w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-5)
    rows2, rows1 = _rows(runs / "two"), _rows(runs / "one")
    assert [r["epoch"] for r in rows2] == [1, 2]  # rank 0 alone writes the logs
    assert all(r["processes"] == 2 for r in rows2)
    for r2, r1 in zip(rows2, rows1, strict=True):
        assert r2["train_loss"] == pytest.approx(r1["train_loss"], rel=1e-5)
        # validation shared out over the processes and gathered: the same value
        assert r2["valid_ndcg@10"] == pytest.approx(r1["valid_ndcg@10"], rel=1e-5)
    # training moved the weights the equality is about (the run's initial ones: its seed)
    torch.manual_seed(0)
    start = build_text_model({"name": model, "params": {**params, "path": str(tiny_bert)}})
    initial = start.state_dict()
    moved = max(float((w1[k] - initial[k]).abs().max()) for k in w1)
    assert moved > 1e-3
    assert json.loads((runs / "two" / "summary.json").read_text())["test"]["ndcg@10"] > 0
    assert (runs / "two" / "test-run.trec").is_file()
    assert two.stdout.count("run directory:") == 1
    if model == "list_reranker":
        assert (runs / "two" / "passage-vectors" / "meta.json").is_file()
