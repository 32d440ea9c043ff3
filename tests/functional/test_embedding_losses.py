"""Embedding losses: hand-derived values, conformance properties, gradcheck, tiled == dense."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rankwise import functional as E
from rankwise import losses
from rankwise.functional import tiled_info_nce_loss
from rankwise.registry import build

LABEL_LOSSES = {
    "multi_similarity": lambda x, y: E.multi_similarity_loss(x, y),
    "multi_similarity_mined": lambda x, y: E.multi_similarity_loss(x, y, mining_epsilon=0.1),
    "circle": lambda x, y: E.circle_loss(x, y, gamma=32.0),
    "triplet_all": lambda x, y: E.triplet_margin_loss(x, y, margin=0.2),
    "triplet_batch_hard": lambda x, y: E.triplet_margin_loss(x, y, margin=0.2, mining="batch_hard"),
    "triplet_semihard": lambda x, y: E.triplet_margin_loss(x, y, margin=0.5, mining="semihard"),
    "triplet_smooth_dot": lambda x, y: E.triplet_margin_loss(x, y, smooth=True, similarity="dot"),
    "contrastive": lambda x, y: E.contrastive_loss(x, y),
    "contrastive_cosine": lambda x, y: E.contrastive_loss(
        x, y, pos_margin=0.9, neg_margin=0.3, similarity="cosine"
    ),
    "nt_xent": lambda x, y: E.nt_xent_loss(x, y, temperature=0.5),
    "supcon": lambda x, y: E.supcon_loss(x, y, temperature=0.5),
    "contextual": lambda x, y: E.contextual_similarity_loss(x, y, k=4),
}


def _batch(seed: int = 0, n: int = 12, d: int = 5, classes: int = 3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % classes
    return x, y


@pytest.mark.parametrize("name", sorted(LABEL_LOSSES))
def test_no_positive_pair_is_finite_with_finite_gradient(name):
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    y = torch.arange(6)  # every label distinct: no positive pair
    value = LABEL_LOSSES[name](x, y)
    (grad,) = torch.autograd.grad(value, x, allow_unused=True)
    assert torch.isfinite(value)
    assert grad is None or torch.isfinite(grad).all()


@pytest.mark.parametrize("name", sorted(LABEL_LOSSES))
def test_invariant_to_permuting_the_batch(name):
    x, y = _batch()
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(3))
    a = LABEL_LOSSES[name](x, y)
    b = LABEL_LOSSES[name](x[perm], y[perm])
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(LABEL_LOSSES) - {"contextual", "circle"}))
def test_gradcheck_float64(name):
    # Excluded by design, their gradient is not the derivative of their value: the
    # contextual loss's straight-through step, and Circle loss's weights a_p, a_n, which
    # the paper treats as constants (its gradient is checked against pytorch-metric-learning
    # in tests/golden/test_embedding_golden.py instead).
    x, y = _batch(n=8, d=4)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: LABEL_LOSSES[name](t, y), (x,))


def test_multi_similarity_hand_value():
    # Two unit vectors of class 0 at 60 degrees, one of class 1 orthogonal to the first.
    x = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    s01, s02, s12 = 0.5, 0.0, math.sqrt(3) / 2
    a, b, lam = 2.0, 50.0, 0.5

    def term(pos, neg):
        p = math.log1p(sum(math.exp(-a * (s - lam)) for s in pos)) / a
        n = math.log1p(sum(math.exp(b * (s - lam)) for s in neg)) / b
        return p + n

    want = (term([s01], [s02]) + term([s01], [s12]) + term([], [s02, s12])) / 3
    got = E.multi_similarity_loss(x, y, alpha=a, beta=b, base=lam)
    assert float(got) == pytest.approx(want, rel=1e-12)


def test_multi_similarity_mining_drops_easy_pairs():
    # Anchor 0: positive at similarity 0.9, negatives at 0.95 (hard) and -0.9 (easy).
    close = torch.tensor([[1.0, 0.9, 0.95, -0.9]])
    pos = torch.tensor([[False, True, False, False]])
    neg = torch.tensor([[False, False, True, True]])
    keep_pos, keep_neg = E.multi_similarity_mining(close, pos, neg, epsilon=0.1)
    assert keep_neg.tolist() == [[False, False, True, False]]
    assert keep_pos.tolist() == [[False, True, False, False]]


def test_triplet_batch_hard_picks_farthest_positive_and_closest_negative():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.5, 0.0], [4.0, 0.0]])
    y = torch.tensor([0, 0, 0, 1, 1])
    close = E.closeness(x, similarity="euclidean", normalize=False)
    a, p, n = E.mine_triplets(close, *E.label_masks(y), mining="batch_hard", margin=0.0)
    assert a.tolist() == [0, 1, 2, 3, 4]
    assert p.tolist() == [2, 2, 0, 4, 3]
    assert n.tolist() == [3, 3, 4, 0, 2]  # anchor 3: items 0 and 1 tie; lower index
    value = E.triplet_margin_loss(x, y, margin=0.1, mining="batch_hard", normalize=False)
    d = torch.cdist(x, x)
    per = torch.relu(d[a, p] - d[a, n] + 0.1)
    assert float(value) == pytest.approx(float(per[per > 0].mean()))


def test_circle_pair_form_equals_label_form():
    x, y = _batch(seed=5)
    close = E.closeness(x)
    pos, neg = E.label_masks(y)
    torch.testing.assert_close(
        E.circle_loss(x, y, gamma=64.0),
        E.circle_pair_loss(close, close, pos_mask=pos, neg_mask=neg, gamma=64.0),
    )


def test_info_nce_matches_cross_entropy_by_hand():
    q, k = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.2
    want = -torch.log_softmax(logits, dim=1).diagonal().mean()
    torch.testing.assert_close(E.info_nce_loss(q, k, temperature=0.2), want)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("normalize", [True, False])
def test_tiled_info_nce_equals_dense_value_and_gradient(symmetric, normalize):
    g = torch.Generator().manual_seed(1)
    q = torch.randn(67, 16, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(67, 16, generator=g, dtype=torch.float64, requires_grad=True)
    similarity = "cosine" if normalize else "dot"
    dense = E.info_nce_loss(q, k, temperature=0.1, similarity=similarity, symmetric=symmetric)
    tiled = tiled_info_nce_loss(
        q, k, temperature=0.1, normalize=normalize, symmetric=symmetric, tile_size=8
    )
    torch.testing.assert_close(tiled, dense, rtol=1e-5, atol=1e-6)
    for a, b in zip(
        torch.autograd.grad(dense, (q, k)), torch.autograd.grad(tiled, (q, k)), strict=True
    ):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_tiled_info_nce_gradcheck_with_explicit_positives():
    g = torch.Generator().manual_seed(2)
    q = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(14, 4, generator=g, dtype=torch.float64, requires_grad=True)
    pos = torch.randint(0, 14, (9,), generator=g)
    assert torch.autograd.gradcheck(
        lambda a, b: tiled_info_nce_loss(a, b, positives=pos, tile_size=4, temperature=0.5), (q, k)
    )


def test_siglip_hand_value_and_learnable_parameters():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    got = E.siglip_loss(x, x, log_temperature=0.0, bias=0.0)
    # logits = identity: diagonal 1 (label +1), off-diagonal 0 (label -1).
    want = -(2 * F.logsigmoid(torch.tensor(1.0)) + 2 * F.logsigmoid(torch.tensor(0.0))) / 2
    torch.testing.assert_close(got, want)
    module = losses.SigLIPLoss()
    module(torch.randn(4, 3), torch.randn(4, 3)).backward()
    assert module.log_temperature.grad is not None and module.bias.grad is not None


def test_alignment_uniformity_and_dispersive_hand_values():
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    y = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    assert float(E.alignment_loss(x, y)) == pytest.approx((2.0 + 0.0) / 2)
    # One pair at squared distance 4: log exp(-2 * 4).
    assert float(E.uniformity_loss(x)) == pytest.approx(-8.0)
    assert float(E.dispersive_loss(x * 3, temperature=2.0)) == pytest.approx(-36.0 / 2.0)


def test_contextual_similarity_separates_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(3, 8) * 5
    y = torch.arange(12) % 3
    x = centres[y] + 0.1 * torch.randn(12, 8, generator=g)
    c = E.contextual_similarity(x, k=4)
    pos, neg = E.label_masks(y)
    assert float(c[pos].mean()) > 0.5 > float(c[neg].mean())


def test_proto_triplet_hand_value():
    support = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    support_labels = torch.tensor([0, 0, 1])  # prototypes (1, 0) and (10, 0)
    query = torch.tensor([[4.0, 0.0]])
    value = E.proto_triplet_loss(support, support_labels, query, torch.tensor([0]), margin=100.0)
    assert float(value) == pytest.approx(9.0 - 36.0 + 100.0)
    with pytest.raises(ValueError, match="support set"):
        E.proto_triplet_loss(support, support_labels, query, torch.tensor([7]))


def test_recommendation_losses_reuse_list_losses_and_match_formulas():
    g = torch.Generator().manual_seed(4)
    pos = torch.rand(6, generator=g, dtype=torch.float64) * 2 - 1
    neg = torch.rand(6, 5, generator=g, dtype=torch.float64) * 2 - 1
    bpr = F.softplus(neg - pos.unsqueeze(1)).mean()
    torch.testing.assert_close(E.bpr_loss(pos, neg), bpr)
    log_q = torch.log(torch.rand(6, 6, generator=g, dtype=torch.float64))
    logits = torch.cat([pos.unsqueeze(1), neg], 1) - log_q
    want = -torch.log_softmax(logits, 1)[:, 0].mean()
    got = E.sampled_softmax_loss(pos, neg, log_q_pos=log_q[:, 0], log_q_neg=log_q[:, 1:])
    torch.testing.assert_close(got, want)
    ccl = ((1 - pos) + torch.relu(neg - 0.5).sum(1)).mean()
    torch.testing.assert_close(E.ccl_loss(pos, neg, margin=0.5), ccl)
    ccl_w = ((1 - pos) + 2.0 / 5 * torch.relu(neg - 0.5).sum(1)).mean()
    torch.testing.assert_close(E.ccl_loss(pos, neg, margin=0.5, negative_weight=2.0), ccl_w)
    # PSL with tanh: log sum_j exp(log(tanh(s_j - s_i) + 1) / t), per user.
    psl = torch.logsumexp(torch.log(torch.tanh(neg - pos.unsqueeze(1)) + 1) / 0.5, 1).mean()
    torch.testing.assert_close(E.psl_recommendation_loss(pos, neg, temperature=0.5), psl)
    assert torch.isfinite(E.sl_at_k_recommendation_loss(pos, neg, k=3))
    mask = torch.ones_like(neg, dtype=torch.bool)
    mask[:, 3:] = False
    torch.testing.assert_close(E.bpr_loss(pos, neg, neg_mask=mask), E.bpr_loss(pos, neg[:, :3]))


def test_registry_builds_by_name_and_names_bad_parameters():
    loss = build("embedding_loss", {"name": "multi_similarity", "params": {"alpha": 2.0}})
    x, y = _batch()
    torch.testing.assert_close(loss(x, y), E.multi_similarity_loss(x, y, alpha=2.0))
    with pytest.raises(ValueError, match="did you mean 'alpha'"):
        build("embedding_loss", {"name": "multi_similarity", "params": {"alpah": 2.0}})
    with pytest.raises(ValueError, match="did you mean 'triplet_margin'"):
        build("embedding_loss", "triplet_margn")
    assert {"siglip", "tiled_info_nce", "supcon"} <= set(losses.EMBEDDING_LOSSES.names())
    assert "bpr" in losses.RECOMMENDATION_LOSSES  # (pos_scores, neg_scores) losses: own kind


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match=r"multi_similarity_loss: embeddings must be \[N, D\]"):
        E.multi_similarity_loss(torch.randn(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels must be"):
        E.supcon_loss(torch.randn(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        E.nt_xent_loss(torch.randn(3, 2), torch.tensor([0, 1, 1]), reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bpr_loss"):
        E.bpr_loss(torch.randn(3), torch.randn(4, 2))
