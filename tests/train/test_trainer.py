"""The trainer: determinism, resume equivalence, NaN stop, early stopping, checkpoints
(atomic, weights-only), logs (CSV, JSON lines, TensorBoard), autocast."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from rankwise.data import make_loader, make_synthetic
from rankwise.errors import CheckpointError, NonFiniteLossError
from rankwise.models import MLPScorer
from rankwise.registry import build
from rankwise.train import (
    EMA,
    Checkpointing,
    EarlyStopping,
    FileLogger,
    ListRankingTask,
    LRScheduler,
    NonFiniteGuard,
    StopAfter,
    TensorBoardLogger,
    Trainer,
    load_checkpoint,
    save_checkpoint,
)


def build_loss(name):
    return build("loss", name)


DATA = make_synthetic(90, 12, seed=5, mean_list_length=15)
TRAIN, VALID = DATA.select_queries(range(60)), DATA.select_queries(range(60, 90))


def make_trainer(
    run_dir=None,
    epochs=4,
    seed=0,
    loss=None,
    *,
    early_stopping=None,
    ema_decay=None,
    stop_after=None,
    scheduler=True,
    **kwargs,
):
    """The callbacks ``rankwise train`` gives a neural ranker, on a small data set."""
    torch.manual_seed(seed)
    model = MLPScorer(12, hidden=[16], dropout=0.2)
    gen = torch.Generator().manual_seed(seed)
    train = make_loader(TRAIN, 8, shuffle=True, generator=gen, max_list_length=10)
    valid = make_loader(VALID, 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    callbacks = []
    if scheduler:
        step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        callbacks.append(LRScheduler(step))
    if ema_decay is not None:
        callbacks.append(EMA(ema_decay))
    callbacks.append(NonFiniteGuard(run_dir))
    if early_stopping is not None:
        callbacks.append(early_stopping)
    if run_dir is not None:
        callbacks += [Checkpointing(run_dir), FileLogger(run_dir), TensorBoardLogger(run_dir)]
    if stop_after is not None:
        callbacks.append(StopAfter(stop_after))
    return Trainer(
        model,
        ListRankingTask(loss or build_loss("softmax"), ["ndcg@5", "map"]),
        optimizer,
        train,
        valid=valid,
        epochs=epochs,
        generator=gen,
        callbacks=callbacks,
        **kwargs,
    )


def _strip_times(history):
    drop = {"seconds", "lists_per_s", "docs_per_s", "valid_seconds"}
    return [{k: v for k, v in row.items() if k not in drop} for row in history]


def test_same_seed_same_metrics():
    a = make_trainer(seed=1).fit()
    b = make_trainer(seed=1).fit()
    assert _strip_times(a.history) == _strip_times(b.history)
    c = make_trainer(seed=2).fit()
    assert _strip_times(a.history) != _strip_times(c.history)


def test_resume_reaches_the_same_result(tmp_path):
    whole = make_trainer(tmp_path / "whole", epochs=5)
    full = whole.fit()
    first = make_trainer(tmp_path / "split", epochs=5, stop_after=2).fit()
    assert first.epochs_run == 2
    # a fresh process would build fresh objects: so does this test
    resumed_trainer = make_trainer(tmp_path / "split", epochs=5)
    resumed = resumed_trainer.fit(resume_from=tmp_path / "split")
    assert resumed.epochs_run == 5
    assert _strip_times(resumed.history) == _strip_times(full.history)
    for (k, a), (_, b) in zip(
        whole.model.state_dict().items(), resumed_trainer.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    # the log has each epoch once
    rows = [
        json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
    csv_lines = (tmp_path / "split" / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 6 and csv_lines[0].startswith("epoch,train_loss")


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        make_trainer(tmp_path / "none").fit(resume_from=tmp_path / "none")


class ExplodesAt:
    """A loss that turns NaN at a given call."""

    def __init__(self, call: int) -> None:
        self.calls = 0
        self.call = call
        self.inner = build_loss("softmax")

    def __call__(self, scores, labels, mask=None):
        self.calls += 1
        value = self.inner(scores, labels, mask=mask)
        return value * float("nan") if self.calls == self.call else value


def test_nonfinite_loss_stops_with_epoch_batch_and_saved_batch(tmp_path):
    trainer = make_trainer(tmp_path / "nan", loss=ExplodesAt(3))
    with pytest.raises(NonFiniteLossError, match=r"is nan at epoch 1, batch 3") as info:
        trainer.fit()
    saved = list((tmp_path / "nan").glob("nonfinite-batch-epoch1-batch3.pt"))
    assert saved, info.value
    batch = load_checkpoint(saved[0])
    assert batch["features"].shape[0] == batch["labels"].shape[0] == 8
    assert batch["mask"].dtype == torch.bool


def test_early_stopping_stops_after_patience():
    # validation never improves: the learning rate is 0
    trainer = make_trainer(
        epochs=20, early_stopping=EarlyStopping(patience=2), scheduler=False, monitor="ndcg@5"
    )
    for group in trainer.optimizer.param_groups:
        group["lr"] = 0.0
    result = trainer.fit()
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1


def test_checkpoints_are_atomic_weights_only_and_complete(tmp_path):
    result = make_trainer(tmp_path / "run", epochs=2).fit()
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    training = ckpt["training"]
    assert training["epoch"] == 1 and ckpt["model_config"]["name"] == "mlp"
    assert ckpt["rankwise_version"] and "optimizer_state" in training
    assert "loader" in training["rng"]
    assert result.checkpoint is not None and result.checkpoint.name == "best.pt"
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))
    # a file that needs arbitrary unpickling is refused, not executed
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": "rankwise-checkpoint-2", "x": ExplodesAt(1)}, f, protocol=2)
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a rankwise checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_an_interrupted_write_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"epoch": 1})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_tensorboard_events_are_readable_by_tensorboard(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    make_trainer(tmp_path / "tb", epochs=3).fit()
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tb" / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train_loss", "valid_ndcg@5", "lr"} <= set(tags)
    assert [e.step for e in acc.Scalars("train_loss")] == [1, 2, 3]
    rows = [
        json.loads(line) for line in (tmp_path / "tb" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [e.value for e in acc.Scalars("valid_ndcg@5")] == pytest.approx(
        [r["valid_ndcg@5"] for r in rows], rel=1e-6
    )


def test_bf16_autocast_on_cpu_computes_loss_in_float32():
    trainer = make_trainer(epochs=1, amp="bf16")
    seen = []
    inner = trainer.task.loss_fn

    def spy(scores, labels, mask=None):
        seen.append(scores.dtype)
        return inner(scores, labels, mask=mask)

    trainer.task.loss_fn = spy
    result = trainer.fit()
    assert set(seen) == {torch.float32}
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in result.history)


def test_fp16_needs_cuda_and_bad_arguments_are_named():
    with pytest.raises(ValueError, match="needs a CUDA device"):
        make_trainer(amp="fp16")
    with pytest.raises(ValueError, match="early stopping needs validation data"):
        Trainer(
            MLPScorer(12),
            ListRankingTask(build_loss("softmax")),
            torch.optim.SGD(MLPScorer(12).parameters(), lr=0.1),
            make_loader(TRAIN, 8),
            callbacks=[EarlyStopping()],
        )


def test_weight_averaging_is_validated_checkpointed_and_resumed(tmp_path):
    """With ema_decay the moving average is what is validated and saved for prediction,
    the raw weights keep training, and a resumed run still matches an uninterrupted one."""
    whole = make_trainer(tmp_path / "a", epochs=4, ema_decay=0.9)
    full = whole.fit()
    raw = make_trainer(epochs=4).fit()
    assert _strip_times(full.history) != _strip_times(raw.history)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(whole.model.parameters(), whole.eval_model.parameters(), strict=True)
    )
    ckpt = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    for key, value in whole.eval_model.state_dict().items():
        assert torch.equal(ckpt["model_state"][key], value)
    make_trainer(tmp_path / "b", epochs=4, ema_decay=0.9, stop_after=2).fit()
    resumed = make_trainer(tmp_path / "b", epochs=4, ema_decay=0.9).fit(resume_from=tmp_path / "b")
    assert _strip_times(resumed.history) == _strip_times(full.history)
    with pytest.raises(ValueError, match="ema_decay"):
        make_trainer(ema_decay=1.5)


def test_grownet_trains_stage_by_stage_through_the_trainer():
    from rankwise.models import GrowNet

    torch.manual_seed(0)
    model = GrowNet(12, num_stages=2, hidden=8, epochs_per_stage=1, corrective_epochs=1)
    gen = torch.Generator().manual_seed(0)
    trainer = Trainer(
        model,
        ListRankingTask(build_loss("lambda"), ["ndcg@5"]),
        torch.optim.Adam(model.parameters(), lr=1e-2),
        make_loader(TRAIN, 8, shuffle=True, generator=gen),
        valid=make_loader(VALID, 16),
        epochs=4,
        generator=gen,
    )
    before = [p.detach().clone() for p in model.learners[1].parameters()]
    trainer._train_epoch(0)  # stage 1: learner 2 is not used, so it cannot change
    assert all(
        torch.equal(a, b) for a, b in zip(before, model.learners[1].parameters(), strict=True)
    )
    result = trainer.fit()
    assert int(model.active) == 2
    assert not all(
        torch.equal(a, b) for a, b in zip(before, model.learners[1].parameters(), strict=True)
    )
    assert result.history[-1]["valid_ndcg@5"] > 0.4
