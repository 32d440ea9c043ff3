"""Neural rankers: the scorer contract, permutation equivariance of the context-aware
ranker, padding invariance, empty lists, GrowNet's schedule, rebuilding from config."""

from __future__ import annotations

import pytest
import torch

from rankwise.models import (
    MODELS,
    ContextAwareRanker,
    GrowNet,
    LinearScorer,
    MLPScorer,
    Scorer,
    build_model,
)

F = 7


def _batch(seed: int = 0, b: int = 3, length: int = 6):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, length, F, generator=g)
    lengths = torch.tensor([length, length - 2, 1])[:b]
    mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    return x, mask


def _models():
    torch.manual_seed(0)
    return {
        "linear": LinearScorer(F),
        "mlp": MLPScorer(F, hidden=[16, 8]),
        "mlp_batchnorm": MLPScorer(F, hidden=[16], norm="batch"),
        "context_aware": ContextAwareRanker(F, d_model=16, num_layers=2, num_heads=2, ff_dim=32),
        "grownet": GrowNet(F, num_stages=3, hidden=8),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_scorer_contract(name):
    model = _models()[name].eval()
    assert isinstance(model, Scorer)
    x, mask = _batch()
    scores = model(x, mask)
    assert scores.shape == mask.shape and scores.dtype == torch.float32
    assert torch.isfinite(scores).all()
    assert torch.all(scores[~mask] == 0), "masked positions score 0"


@pytest.mark.parametrize("name", list(_models()))
def test_padding_and_garbage_change_nothing(name):
    model = _models()[name].eval()
    x, mask = _batch()
    more = torch.cat([x, torch.full((x.shape[0], 3, F), 1e6)], dim=1)
    more_mask = torch.cat([mask, torch.zeros(mask.shape[0], 3, dtype=torch.bool)], dim=1)
    garbage = x.masked_fill(~mask.unsqueeze(-1), -7.0)
    with torch.no_grad():
        a = model(x, mask)
        b = model(more, more_mask)[:, : x.shape[1]]
        c = model(garbage, mask)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(_models()))
def test_permutation_equivariance(name):
    """Permuting a list's items permutes its scores the same way (all these models,
    the context-aware one included: it has no position encoding by default)."""
    model = _models()[name].eval()
    x, mask = _batch(1, b=2, length=8)
    mask[:] = True
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a = model(x, mask)
        b = model(x[:, perm], mask[:, perm])
    torch.testing.assert_close(b, a[:, perm], rtol=1e-5, atol=1e-6)


def test_context_aware_uses_the_list():
    """Unlike a per-item scorer, an item's score depends on the other items."""
    model = ContextAwareRanker(F, d_model=16, num_layers=1, num_heads=2, ff_dim=32).eval()
    x, mask = _batch(2, b=1, length=5)
    mask[:] = True
    other = x.clone()
    other[0, 1:] += 3.0
    with torch.no_grad():
        assert not torch.allclose(model(x, mask)[0, 0], model(other, mask)[0, 0])


@pytest.mark.parametrize("encoding", ["learned", "sinusoidal"])
def test_position_encoding_breaks_equivariance(encoding):
    torch.manual_seed(0)
    model = ContextAwareRanker(
        F, d_model=16, num_layers=1, num_heads=2, ff_dim=32, position_encoding=encoding
    ).eval()
    x, mask = _batch(1, b=1, length=6)
    mask[:] = True
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    with torch.no_grad():
        a, b = model(x, mask), model(x[:, perm], mask)
    assert not torch.allclose(b, a[:, perm], atol=1e-4)


def test_empty_lists_give_finite_scores_and_gradients():
    model = ContextAwareRanker(F, d_model=16, num_layers=1, num_heads=2, ff_dim=32)
    x = torch.randn(2, 4, F, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [False] * 4])
    scores = model(x, mask)
    assert torch.isfinite(scores).all() and torch.all(scores[1] == 0)
    scores.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.all(x.grad[1] == 0)


def test_bad_inputs_are_named():
    model = MLPScorer(F)
    with pytest.raises(ValueError, match=r"features must be \[batch, list, 7\]"):
        model(torch.zeros(2, 3, F + 1), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be bool"):
        model(torch.zeros(2, 3, F), torch.ones(2, 3))
    with pytest.raises(ValueError, match="divisible"):
        ContextAwareRanker(F, d_model=10, num_heads=3)


@pytest.mark.parametrize("name", list(_models()))
def test_rebuild_from_config(name):
    model = _models()[name].eval()
    rebuilt = build_model(model.config)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x, mask = _batch()
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x, mask), model(x, mask))


def test_registry_checks_parameters():
    assert {"linear", "mlp", "context_aware", "grownet"} <= set(MODELS)
    with pytest.raises(ValueError, match="did you mean 'num_layers'"):
        MODELS.check("context_aware", {"num_layer": 2})


def test_grownet_schedule_trains_one_learner_then_corrects():
    net = GrowNet(F, num_stages=3, hidden=8, epochs_per_stage=2, corrective_epochs=1)
    expected = {
        0: (1, False),
        1: (1, False),
        2: (1, True),
        3: (2, False),
        4: (2, False),
        5: (2, True),
        8: (3, True),
        12: (3, True),
    }
    for epoch, (active, corrective) in expected.items():
        assert net.schedule(epoch) == (active, corrective)
    net.on_epoch_start(3)  # learner 2 alone
    trainable = [any(p.requires_grad for p in learner.parameters()) for learner in net.learners]
    assert trainable == [False, True, False]
    net.on_epoch_start(5)  # corrective: learners 1 and 2
    trainable = [any(p.requires_grad for p in learner.parameters()) for learner in net.learners]
    assert trainable == [True, True, False]
    x, mask = _batch()
    net.on_epoch_start(0)
    one = net(x, mask)
    with torch.no_grad():
        expected_one = net.boost_rate * net.learners[0](x[mask])[0]
    torch.testing.assert_close(one[mask], expected_one)
    # a checkpointed model restores the number of active learners
    net.on_epoch_start(8)
    clone = build_model(net.config)
    clone.load_state_dict(net.state_dict())
    assert int(clone.active) == 3
