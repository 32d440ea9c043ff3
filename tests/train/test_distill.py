"""Listwise distillation from a gradient-boosted teacher (``training.distill``): out-of-fold
teacher scores, their path through the loaders (list sampling included), the training
loss (1 - w) loss + w PLD, config errors, and a run end to end."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from rich.console import Console

from rankwise.data import RankingData, make_synthetic
from rankwise.data.dataset import make_loader
from rankwise.errors import ConfigError
from rankwise.functional import pl_distillation_loss, softmax_loss
from rankwise.train.config import validate_config
from rankwise.train.distill import teacher_scores
from rankwise.train.experiment import run_experiment
from rankwise.train.tasks import ListRankingTask

TEACHER = {"name": "lightgbm", "params": {"n_estimators": 30, "extra": {"min_child_samples": 2}}}


def _data(queries: int = 40, seed: int = 0) -> RankingData:
    return make_synthetic(queries, 8, seed=seed)


def test_teacher_scores_are_out_of_fold_and_standardized_per_list():
    data = _data()
    scores = teacher_scores(data, None, TEACHER, folds=4, seed=3)
    assert scores.shape == (data.num_documents,) and scores.dtype == np.float32
    offsets = data.query_offsets
    for q in range(data.num_queries):
        s = scores[offsets[q] : offsets[q + 1]].astype(np.float64)
        if s.size > 1 and s.std() > 0:
            assert abs(s.mean()) < 1e-5 and abs(s.std() - 1) < 1e-4
    assert np.array_equal(scores, teacher_scores(data, None, TEACHER, folds=4, seed=3))
    # Out of fold: a teacher fitted on all the lists scores its own training lists
    # differently from one that never saw them.
    from rankwise.registry import build

    seen = build("gbdt_model", {"name": "lightgbm", "params": {**TEACHER["params"], "seed": 3}})
    seen.fit(data, None, log=lambda *a, **k: None)
    assert not np.allclose(scores, seen.predict(data), atol=1e-3)


def test_repeated_cross_fitting_averages_other_partitions():
    data = _data()
    once = teacher_scores(data, None, TEACHER, folds=3, seed=1)
    twice = teacher_scores(data, None, TEACHER, folds=3, repeats=2, seed=1)
    again = teacher_scores(data, None, TEACHER, folds=3, seed=2)
    assert not np.allclose(once, twice)
    # the average of the two partitions' scores (seeds 1 and 2), standardized again
    offsets = data.query_offsets
    for q in range(data.num_queries):
        lo, hi = offsets[q], offsets[q + 1]
        mean = (once[lo:hi].astype(np.float64) + again[lo:hi]) / 2
        if hi - lo > 1 and mean.std() > 0:
            expected = (mean - mean.mean()) / mean.std()
            assert np.allclose(twice[lo:hi], expected, atol=1e-4)


def test_teacher_scores_need_enough_queries():
    with pytest.raises(ValueError, match="cannot be split in 5 parts"):
        teacher_scores(_data(queries=4), None, TEACHER, folds=5)


def test_loader_carries_teacher_scores_with_the_sampled_documents():
    data = _data()
    teacher = np.arange(data.num_documents, dtype=np.float32)  # each document its index
    loader = make_loader(
        data,
        4,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        max_list_length=3,
        teacher=teacher,
    )
    offsets = data.query_offsets
    seen = 0
    for batch in loader:
        assert batch.teacher is not None and batch.teacher.shape == batch.labels.shape
        assert torch.all(batch.teacher[~batch.mask] == 0)
        for b, q in enumerate(batch.query_index.tolist()):
            rows = batch.teacher[b][batch.mask[b]].long().numpy() - offsets[q]
            # the sampled documents' own scores, labels and features, in list order
            assert np.all(rows >= 0) and np.all(np.diff(rows) > 0)
            labels = data.labels[offsets[q] : offsets[q + 1]][rows]
            assert np.array_equal(batch.labels[b][batch.mask[b]].numpy(), labels)
            seen += 1
    assert seen == data.num_queries
    assert next(iter(make_loader(data, 4))).teacher is None
    with pytest.raises(ValueError, match="got 3 for"):
        make_loader(data, 4, teacher=np.zeros(3))


def test_distillation_loss_mixes_the_list_loss_and_pld():
    data = _data()
    loader = make_loader(data, 5, teacher=np.random.default_rng(0).normal(size=data.num_documents))
    batch = next(iter(loader))
    scores = torch.randn(batch.labels.shape, generator=torch.Generator().manual_seed(1))
    task = ListRankingTask(softmax_loss, distill_weight=0.3, distill_temperature=2.0)
    expected = 0.7 * softmax_loss(scores, batch.labels, mask=batch.mask) + 0.3 * (
        pl_distillation_loss(scores, batch.teacher, batch.labels, mask=batch.mask, temperature=2.0)
    )
    assert torch.allclose(task.loss(scores, batch), expected)
    # validation: the list loss alone
    assert torch.allclose(
        task.local_loss(scores, batch), softmax_loss(scores, batch.labels, mask=batch.mask)
    )
    no_teacher = next(iter(make_loader(_data(), 5)))
    with pytest.raises(ValueError, match="needs teacher scores"):
        task.loss(scores[:, : no_teacher.labels.shape[1]], no_teacher)
    with pytest.raises(ValueError, match="distill_weight"):
        ListRankingTask(softmax_loss, distill_weight=1.5)


def _config(tmp_path, **distill):
    return {
        "name": "d",
        "output_dir": str(tmp_path / "runs"),
        "data": {"synthetic": {"num_queries": 60, "num_features": 8}, "batch_size": 8},
        "model": {"name": "mlp", "params": {"hidden": [8]}},
        "loss": {"name": "softmax"},
        "training": {
            "epochs": 2,
            "progress": False,
            "tensorboard": False,
            "distill": {"teacher": copy.deepcopy(TEACHER), "folds": 3, **distill},
        },
        "metrics": ["ndcg@5"],
    }


def test_config_errors_name_the_distillation_key(tmp_path):
    bad = _config(tmp_path)
    bad["training"]["distill"]["teacher"] = {"name": "mlp"}
    with pytest.raises(ConfigError, match=r"training\.distill\.teacher\.name.*gradient-boosted"):
        validate_config(bad)
    tree = _config(tmp_path)
    tree["model"] = {"name": "lightgbm"}
    with pytest.raises(ConfigError, match="distillation trains a neural feature ranker"):
        validate_config(tree)
    typo = _config(tmp_path)
    typo["training"]["distill"]["teacher"]["params"]["n_estimator"] = 3
    with pytest.raises(ConfigError, match="n_estimator"):
        validate_config(typo)


def test_a_distilled_run_trains_and_differs_from_the_plain_run(tmp_path):
    console = Console(quiet=True)
    distilled = run_experiment(validate_config(_config(tmp_path)), console=console)
    plain_config = _config(tmp_path)
    plain_config["name"] = "p"
    del plain_config["training"]["distill"]
    plain = run_experiment(validate_config(plain_config), console=console)
    assert np.isfinite(distilled.best_valid)

    def train_losses(summary):
        rows = (summary.run_dir / "metrics.jsonl").read_text().splitlines()
        return [json.loads(r)["train_loss"] for r in rows]

    # the same seed, data and batches: only the PLD term differs
    assert all(np.isfinite(train_losses(distilled)))
    assert train_losses(distilled) != pytest.approx(train_losses(plain), abs=1e-3)
