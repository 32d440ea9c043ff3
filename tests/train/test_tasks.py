"""One Trainer for every model kind: the embedding and recommendation tasks train, validate
and resume exactly like list rankers; every callback's state comes back on resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rankwise import losses
from rankwise.data import (
    Interactions,
    LabelledItems,
    class_balanced_loader,
    interaction_loader,
    make_loader,
    make_synthetic,
)
from rankwise.metrics import full_ranking_metrics, retrieval_metrics
from rankwise.models import MatrixFactorization, MLPScorer
from rankwise.train import (
    EMA,
    Checkpointing,
    EarlyStopping,
    EmbeddingTask,
    ListRankingTask,
    LRScheduler,
    RecommendationTask,
    StopAfter,
    Trainer,
)


def _items(seed: int) -> LabelledItems:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(4, 8, generator=g) * 3
    labels = torch.arange(80) % 4
    return LabelledItems(centres[labels] + torch.randn(80, 8, generator=g), labels)


def _embedder_trainer(run_dir=None, epochs=4, callbacks=()):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    gen = torch.Generator().manual_seed(0)
    loader = class_balanced_loader(_items(0), classes_per_batch=4, per_class=5, generator=gen)
    extra = [Checkpointing(run_dir)] if run_dir is not None else []
    return Trainer(
        model,
        EmbeddingTask(losses.MultiSimilarityLoss()),
        torch.optim.Adam(model.parameters(), lr=1e-2),
        loader,
        valid=_items(1),
        epochs=epochs,
        callbacks=[*extra, *callbacks],
    )


def test_the_trainer_trains_an_embedder_and_validates_by_retrieval():
    trainer = _embedder_trainer()
    before = retrieval_metrics(trainer.model(_items(1).features).detach(), _items(1).labels)
    result = trainer.fit()
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
    assert set(result.history[0]) >= {"valid_hits@1", "valid_map@r", "train_loss"}
    after = result.history[-1]["valid_map@r"]
    assert after > before["map@r"] + 0.05, (after, before)
    assert result.best_epoch is not None and result.best_value == max(
        r["valid_hits@1"] for r in result.history
    )


def test_an_embedder_run_resumes_to_the_same_weights(tmp_path):
    whole = _embedder_trainer(tmp_path / "a")
    whole.fit()
    _embedder_trainer(tmp_path / "b", callbacks=[StopAfter(2)]).fit()
    resumed = _embedder_trainer(tmp_path / "b")
    resumed.fit(resume_from=tmp_path / "b")
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def _interactions() -> Interactions:
    g = torch.Generator().manual_seed(0)
    users, items = 30, 40
    # each user likes the items of its taste group (3 groups)
    pairs = [(u, i) for u in range(users) for i in range(items) if i % 3 == u % 3]
    chosen = torch.tensor(pairs)[torch.randperm(len(pairs), generator=g)]
    half = chosen.shape[0] // 2
    return Interactions(users, items, chosen[:half], chosen[half:])


def test_the_trainer_trains_a_recommender_and_validates_by_full_ranking():
    data = _interactions()
    torch.manual_seed(0)
    model = MatrixFactorization(data.num_users, data.num_items, dim=8)
    before = full_ranking_metrics(data, model.all_scores(), k=5)["recall@5"]
    trainer = Trainer(
        model,
        RecommendationTask(losses.SampledSoftmaxLoss(), k=5),
        torch.optim.Adam(model.parameters(), lr=5e-2),
        interaction_loader(data, batch_size=64, negatives=8),
        valid=data,
        epochs=6,
    )
    result = trainer.fit()
    assert result.history[-1]["valid_recall@5"] > before + 0.1
    assert trainer.monitor == "recall@5"


def _ranker_trainer(run_dir, callbacks=(), epochs=6):
    data = make_synthetic(40, 8, seed=2, mean_list_length=8)
    train, valid = data.select_queries(range(30)), data.select_queries(range(30, 40))
    torch.manual_seed(0)
    model = MLPScorer(8, hidden=[8], dropout=0.0)
    gen = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # validation never improves
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return Trainer(
        model,
        ListRankingTask(losses.SoftmaxLoss(), ["ndcg@5"]),
        optimizer,
        make_loader(train, 8, shuffle=True, generator=gen),
        valid=make_loader(valid, 16),
        epochs=epochs,
        callbacks=[LRScheduler(scheduler), EMA(0.9), *callbacks, Checkpointing(run_dir)],
    )


def test_resume_restores_every_callback(tmp_path):
    first = _ranker_trainer(tmp_path, [EarlyStopping(patience=2)])
    result = first.fit()
    assert result.stopped_early and result.epochs_run == 3
    again = _ranker_trainer(tmp_path, [EarlyStopping(patience=2)])
    resumed = again.fit(resume_from=tmp_path / "checkpoints" / "last.pt")
    # it had stopped: it stays stopped, and nothing was trained again
    assert resumed.stopped_early and resumed.epochs_run == 3
    assert len(resumed.history) == 3
    scheduler = next(cb for cb in again.callbacks if isinstance(cb, LRScheduler)).scheduler
    assert scheduler.last_epoch == 3  # the schedule's state came back
    ema = next(cb for cb in again.callbacks if isinstance(cb, EMA))
    assert ema.steps == 3 * len(first.train_loader)  # type: ignore[arg-type]


def test_input_noise_perturbs_real_items_in_training_only():
    """DASALC's input noise: training batches see noisy features of real items (the
    padding stays zero), evaluation sees the features as they are."""
    from rankwise.data import RankingBatch

    class Features(nn.Module):  # returns what it was given, as scores of feature 0
        def forward(self, features, mask):
            return features[..., 0]

    features = torch.arange(12.0).reshape(2, 3, 2)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    features = features * mask.unsqueeze(-1)
    batch = RankingBatch(
        features=features,
        labels=torch.zeros(2, 3),
        mask=mask,
        qids=np.asarray(["a", "b"]),
        query_index=torch.arange(2),
    )
    task = ListRankingTask(losses.SoftmaxLoss(), input_noise=0.5)
    model = Features()
    torch.manual_seed(0)
    noisy = task.forward(model.train(), batch)
    moved = (noisy - features[..., 0]).abs()
    assert (moved[mask] > 0).all() and (moved[~mask] == 0).all()
    # the noise's scale: about 0.5 over many draws
    draws = torch.stack([task.forward(model, batch) - features[..., 0] for _ in range(2000)])
    assert float(draws[:, 0, 0].std()) == pytest.approx(0.5, rel=0.1)
    assert torch.equal(task.forward(model.eval(), batch), features[..., 0])
    assert torch.equal(
        ListRankingTask(losses.SoftmaxLoss()).forward(model.train(), batch), features[..., 0]
    )
