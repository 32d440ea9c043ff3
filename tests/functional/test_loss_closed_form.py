"""Hand-derived values on 2-5 item lists for every loss family, and worked examples of
the seed-paper losses (RCR, MW, PSL, SL@K, PLD) from their definitions."""

from __future__ import annotations

import math

import pytest
import torch

from rankwise import functional as L
from rankwise.functional import ndcg


def t(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# ------------------------------------------------------------------------ pointwise
def test_pointwise_by_hand():
    assert L.mse_loss(t([1.0, 0.0]), t([2.0, 0.0])).item() == pytest.approx(0.5)
    assert L.mse_loss(t([0.5, 0.0]), t([2.0, 0.0]), scale=2.0, root=True).item() == pytest.approx(
        math.sqrt(0.5)
    )
    # sigmoid(0) = 1/2 against target 1 and 0: log 2 each
    assert L.sigmoid_bce_loss(t([0.0, 0.0]), t([1.0, 0.0])).item() == pytest.approx(math.log(2))
    assert L.sigmoid_bce_loss(t([0.0, 0.0]), t([3.0, 0.0]), threshold=2.0).item() == pytest.approx(
        math.log(2)
    )
    # ordinal: 3 thresholds at probability 1/2 -> 3 log 2 per item
    probs = torch.full((1, 2, 3), 0.5, dtype=torch.float64)
    assert L.ordinal_loss(probs, t([2.0, 0.0]), from_logits=False).item() == pytest.approx(
        3 * math.log(2)
    )


# ------------------------------------------------------------------------- pairwise
def test_pairwise_by_hand():
    s, y = t([1.0, 0.0]), t([1.0, 0.0])
    assert L.ranknet_loss(s, y).item() == pytest.approx(softplus(-1.0))
    assert L.ranknet_loss(s, y, sigma=2.0).item() == pytest.approx(softplus(-2.0))
    assert L.pairwise_logistic_loss(t([0.0, 1.0]), y).item() == pytest.approx(softplus(1.0))
    assert L.pairwise_hinge_loss(t([0.5, 0.0]), y).item() == pytest.approx(0.5)
    assert L.pairwise_soft_zero_one_loss(t([0.5, 0.0]), y).item() == pytest.approx(
        1 / (1 + math.exp(0.5))
    )
    # (0,0): 0; (0,1): ((1-0)-(2-0))^2 = 1; (1,0): 1; (1,1): 0 -> mean 0.5
    assert L.pairwise_mse_loss(t([1.0, 0.0]), t([2.0, 0.0])).item() == pytest.approx(0.5)
    # qr: dy = 2, ds = 1 -> tau * 1
    assert L.pairwise_qr_loss(t([1.0, 0.0]), t([2.0, 0.0]), tau=0.3).item() == pytest.approx(0.3)
    # three items, grades 2 > 1 > 0: mean over three ordered pairs
    s3, y3 = t([0.0, 0.5, 1.0]), t([2.0, 1.0, 0.0])
    expected = (softplus(0.5) + softplus(1.0) + softplus(0.5)) / 3
    assert L.ranknet_loss(s3, y3).item() == pytest.approx(expected)
    assert L.ranknet_loss(s3, y3, per_list="sum").item() == pytest.approx(3 * expected)
    # label-difference weighting: the (2, 0) pair counts twice
    weighted = (softplus(0.5) + 2 * softplus(1.0) + softplus(0.5)) / 3
    assert L.ranknet_loss(s3, y3, lambda_weights="label_diff").item() == pytest.approx(weighted)


def test_pair_weights_scale_pairs():
    s, y = t([0.0, 0.5, 1.0]), t([2.0, 1.0, 0.0])
    w = torch.zeros(1, 3, 3, dtype=torch.float64)
    w[0, 0, 2] = 4.0  # only the (best, worst) pair counts, with weight 4 (e.g. a bid)
    got = L.pairwise_logistic_loss(s, y, pair_weights=w, per_list="sum")
    assert got.item() == pytest.approx(4 * softplus(1.0))


def test_mw_loss_is_the_auc_surrogate_normalized_by_pos_times_neg():
    s, y = t([2.0, 0.5, -1.0, 0.0]), t([1.0, 0.0, 1.0, 0.0])
    pos, neg = [2.0, -1.0], [0.5, 0.0]
    expected = sum(softplus(-(p - n)) for p in pos for n in neg) / (len(pos) * len(neg))
    assert L.mw_loss(s, y).item() == pytest.approx(expected)
    assert L.mw_loss(s, t([1.0, 1.0, 1.0, 1.0])).item() == 0.0  # no negative: no signal


def test_lambda_loss_by_hand():
    # labels [0, 1] ranked wrong (scores [1, 0]); ideal DCG = 1; G = [0, 1];
    # lambdarank weight |G1 - G0| * |1/D(1) - 1/D(2)| = 1 - 1/log2(3)
    s, y = t([1.0, 0.0]), t([0.0, 1.0])
    w = 1 - 1 / math.log2(3)
    pair = math.log2(1 + math.e)  # -log2 sigmoid(0 - 1)
    assert L.lambda_loss(s, y, lambda_weights="lambdarank").item() == pytest.approx(w * pair)
    assert L.lambda_loss(s, y, lambda_weights="ndcg_loss2").item() == pytest.approx(w * pair)
    assert L.lambda_loss(s, y, lambda_weights="ndcg_loss2pp", mu=10).item() == pytest.approx(
        11 * w * pair
    )
    assert L.lambda_loss(s, y, lambda_weights="ranknet").item() == pytest.approx(pair)
    assert L.lambda_loss(
        s, y, lambda_weights="ranknet", log_base="natural"
    ).item() == pytest.approx(softplus(1.0))
    # k = 1 with allRank's rule drops the pair (item at rank 2), TF-Ranking's keeps it
    assert L.lambda_loss(s, y, k=1, k_rule="both").item() == 0.0
    assert L.lambda_loss(s, y, k=1, k_rule="either").item() > 0


# ------------------------------------------------------------------------- listwise
def test_softmax_family_by_hand():
    s, y = t([0.0, math.log(3.0)]), t([0.0, 1.0])  # softmax = [1/4, 3/4]
    assert L.softmax_loss(s, y).item() == pytest.approx(-math.log(0.75))
    assert L.poly1_softmax_loss(s, y, epsilon=2.0).item() == pytest.approx(
        -math.log(0.75) + 2 * 0.25
    )
    # softmax target of labels [0, log 3] is [1/4, 3/4]: cross-entropy of a distribution with itself
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert L.softmax_loss(s, s, target="softmax").item() == pytest.approx(entropy)
    # unique softmax: item 1 (label 1, gain 1) competes with item 0 only
    assert L.unique_softmax_loss(s, y).item() == pytest.approx(-math.log(0.75))


def test_listmle_by_hand_and_ties():
    s, y = t([0.0, 1.0, 2.0]), t([2.0, 1.0, 0.0])
    # order by labels: 0, 1, 2; steps: log(e^0+e^1+e^2) - 0, log(e^1+e^2) - 1, 0
    expected = math.log(1 + math.e + math.e**2) + math.log(math.e + math.e**2) - 1
    assert L.listmle_loss(s, y).item() == pytest.approx(expected)
    # ties broken by the generator: two draws differ, a fixed seed repeats
    y_tied = t([1.0, 1.0, 0.0])
    values = {
        round(L.listmle_loss(s, y_tied, generator=torch.Generator().manual_seed(i)).item(), 9)
        for i in range(20)
    }
    assert len(values) == 2  # the two orders of the tied pair
    g1 = L.listmle_loss(s, y_tied, generator=torch.Generator().manual_seed(3))
    g2 = L.listmle_loss(s, y_tied, generator=torch.Generator().manual_seed(3))
    assert g1.item() == g2.item()


def test_position_aware_listmle_weights_the_top():
    s, y = t([0.0, 1.0, 2.0]), t([2.0, 1.0, 0.0])
    first = math.log(1 + math.e + math.e**2)
    second = math.log(math.e + math.e**2) - 1
    # n = 3: weights (2^2 - 1)/(2^2 - 1) = 1, (2^1 - 1)/3 = 1/3, 0
    assert L.listmle_loss(s, y, position_aware=True).item() == pytest.approx(first + second / 3)


def test_approx_ndcg_by_hand():
    s, y = t([5.0, 0.0]), t([1.0, 0.0])
    r0 = 1 + 1 / (1 + math.exp(5.0))  # 1 + sigmoid(0 - 5)
    assert L.approx_ndcg_loss(s, y).item() == pytest.approx(-1 / math.log2(1 + r0))
    # low temperature approaches the exact NDCG
    s3, y3 = t([0.2, 1.0, -0.5]), t([2.0, 1.0, 0.0])
    exact = ndcg(s3, y3).item()
    assert -L.approx_ndcg_loss(s3, y3, temperature=1e-3).item() == pytest.approx(exact, abs=1e-6)


def test_neural_ndcg_approaches_ndcg_at_low_temperature():
    s, y = t([0.2, 1.0, -0.5, 0.7]), t([2.0, 1.0, 0.0, 3.0])
    exact = ndcg(s, y).item()
    for transposed in (False, True):
        value = -L.neural_ndcg_loss(s, y, temperature=1e-3, transposed=transposed).item()
        assert value == pytest.approx(exact, abs=1e-6)
    at_k = -L.neural_ndcg_loss(s, y, temperature=1e-3, k=2).item()
    assert at_k == pytest.approx(ndcg(s, y, k=2).item(), abs=1e-6)
    # at a very high temperature every rank is equally likely for every item: the value is
    # the expected NDCG over random orderings, i.e. the NDCG of all-tied scores with
    # ties="average" (rankwise's metric, exact in closed form)
    uniform = ndcg(torch.zeros_like(s), y, ties="average").item()
    assert -L.neural_ndcg_loss(s, y, temperature=1e6).item() == pytest.approx(uniform, abs=1e-6)
    assert uniform != pytest.approx(exact)


def test_stochastic_neural_ndcg_is_seeded():
    s, y = t([0.2, 1.0, -0.5, 0.7]), t([2.0, 1.0, 0.0, 3.0])

    def draw(seed):
        return L.neural_ndcg_loss(
            s, y, stochastic=True, n_samples=8, generator=torch.Generator().manual_seed(seed)
        ).item()

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


# ----------------------------------------------------------- seed-paper worked examples
def test_rcr_worked_example():
    """Bai et al. 2023: alpha * mean BCE(sigmoid(s), y) + (1 - alpha) * ListCE on sigmoids."""
    s, y = t([0.0, math.log(3.0)]), t([0.0, 1.0])  # sigmoids 1/2 and 3/4
    bce = (math.log(2) + -math.log(0.75)) / 2
    list_ce = -math.log(0.75 / (0.5 + 0.75))
    assert L.rcr_loss(s, y, alpha=0.5).item() == pytest.approx(0.5 * bce + 0.5 * list_ce)
    assert L.rcr_loss(s, y, alpha=1.0).item() == pytest.approx(bce)
    # at the calibrated optimum sigmoid(s) equals the label rate: the gradient pushes toward it
    grad_s = t([0.0, 0.0]).requires_grad_(True)
    L.rcr_loss(grad_s, t([1.0, 0.0]), alpha=1.0).backward()
    assert grad_s.grad[0, 0] < 0 < grad_s.grad[0, 1]


def test_psl_worked_example():
    """Yang et al. 2024: one positive, one negative: log(1 + tanh(s_neg - s_pos)) / tau."""
    s, y = t([0.6, 0.1]), t([1.0, 0.0])
    d = 0.1 - 0.6
    assert L.psl_loss(s, y, temperature=0.5).item() == pytest.approx(math.log1p(math.tanh(d)) / 0.5)
    assert L.psl_loss(s, y, activation="atan").item() == pytest.approx(math.log1p(math.atan(d)))
    assert L.psl_loss(s, y, activation="relu").item() == pytest.approx(math.log(d + 1))
    # two negatives: log-sum-exp over them
    s3, y3 = t([0.6, 0.1, 0.3]), t([1.0, 0.0, 0.0])
    terms = [math.log1p(math.tanh(x - 0.6)) for x in (0.1, 0.3)]
    assert L.psl_loss(s3, y3).item() == pytest.approx(math.log(sum(math.exp(v) for v in terms)))


def test_sl_at_k_worked_example():
    """Yang et al. 2025: sigmoid((s_i - beta_K)/tau_w) * log sum_{neg} exp((s_j - s_i)/tau)."""
    s, y = t([1.0, 0.2, 0.5]), t([1.0, 0.0, 0.0])
    beta = 0.5  # the 2nd largest score for K = 2
    weight = 1 / (1 + math.exp(-(1.0 - beta) / 0.5))
    softmax = math.log(math.exp(0.2 - 1.0) + math.exp(0.5 - 1.0))
    got = L.sl_at_k_loss(s, y, k=2, weight_temperature=0.5)
    assert got.item() == pytest.approx(weight * softmax)


def test_pld_worked_example():
    """Bassam et al. 2025: teacher-optimal order (labels first, then teacher), steps
    weighted by the teacher's softmax confidence of the chosen item."""
    s = t([0.0, 1.0, 2.0])
    teacher = t([0.0, math.log(2.0), math.log(3.0)])  # softmax: 1/6, 2/6, 3/6
    labels = t([1.0, 0.0, 0.0])  # item 0 first, then items 2, 1 by teacher score
    step0 = math.log(1 + math.e + math.e**2) - 0.0
    step1 = math.log(math.e**2 + math.e) - 2.0
    expected = (1 / 6) * step0 + (3 / 6) * step1
    assert L.pl_distillation_loss(s, teacher, labels).item() == pytest.approx(expected)
    # without labels the teacher alone orders: 2, 1, 0
    no_labels = (3 / 6) * (math.log(1 + math.e + math.e**2) - 2.0) + (2 / 6) * (
        math.log(1 + math.e) - 1.0
    )
    assert L.pl_distillation_loss(s, teacher).item() == pytest.approx(no_labels)
    # translation invariance of the student scores
    assert L.pl_distillation_loss(s + 5.0, teacher, labels).item() == pytest.approx(expected)
