"""Calibration and fairness measures: formulas by hand and defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rankwise.functional import (
    brier_score,
    expected_calibration_error,
    exposure_disparity,
    log_loss,
    rkl,
    rnd,
    rrd,
)


def test_log_loss_and_brier_by_hand():
    p = torch.tensor([[0.9, 0.2, 0.5]])
    y = torch.tensor([[1.0, 0.0, 1.0]])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.5)) / 3
    assert log_loss(p, y).item() == pytest.approx(expected)
    assert brier_score(p, y).item() == pytest.approx((0.01 + 0.04 + 0.25) / 3)
    logits = torch.log(p / (1 - p))
    assert log_loss(logits, y, from_logits=True).item() == pytest.approx(expected)
    assert brier_score(logits, y, from_logits=True).item() == pytest.approx(
        (0.01 + 0.04 + 0.25) / 3
    )


def test_mask_threshold_and_input_errors():
    p = torch.tensor([[0.9, 0.2, 0.5]])
    y = torch.tensor([[3.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, False]])
    got = log_loss(p, y, mask=mask, threshold=1.0).item()
    assert got == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    with pytest.raises(ValueError, match="labels must lie in"):
        log_loss(p, y)
    with pytest.raises(ValueError, match="probs must lie in"):
        brier_score(torch.tensor([1.5]), torch.tensor([1.0]))


def test_expected_calibration_error():
    # constant confidence 0.8, all positive: gap 0.2 in a single bin
    p = torch.full((100,), 0.8)
    assert expected_calibration_error(p, torch.ones(100)).item() == pytest.approx(0.2)
    # perfectly calibrated bins: within each bin the mean label equals the mean probability
    rng = np.random.default_rng(0)
    probs = np.repeat(np.linspace(0.05, 0.95, 10), 1000)
    labels = np.concatenate(
        [
            rng.permutation(np.r_[np.ones(int(q * 1000)), np.zeros(1000 - int(q * 1000))])
            for q in np.linspace(0.05, 0.95, 10)
        ]
    )
    ece = expected_calibration_error(torch.tensor(probs), torch.tensor(labels), n_bins=10)
    assert ece.item() < 1e-3
    q = expected_calibration_error(torch.tensor(probs), torch.tensor(labels), strategy="quantile")
    assert q.item() < 0.05


def _list(protected_positions, n=40):
    scores = -torch.arange(n, dtype=torch.float64).unsqueeze(0)  # ranked in input order
    groups = torch.zeros(1, n)
    groups[0, protected_positions] = 1
    return scores, groups


@pytest.mark.parametrize("measure", [rnd, rkl, rrd])
def test_most_unfair_ranking_is_one_and_proportional_is_near_zero(measure):
    s, g = _list(list(range(10)))  # 10 protected of 40, all at the top
    assert measure(s, g).item() == pytest.approx(1.0)
    s, g = _list(list(range(30, 40)))  # all at the bottom
    assert 0.0 < measure(s, g).item() <= 1.0
    s, g = _list(list(range(0, 40, 4)))  # one in every four: proportional at 20 and 40
    assert measure(s, g).item() < 0.15


def test_rnd_by_hand():
    # N = 20, P = 5; cut-offs 10 and 20; protected at positions 0..4
    s, g = _list(list(range(5)), n=20)
    raw = abs(5 / 10 - 5 / 20) / math.log2(10) + abs(5 / 20 - 5 / 20) / math.log2(20)
    bottom = abs(0 / 10 - 5 / 20) / math.log2(10)
    assert rnd(s, g).item() == pytest.approx(raw / max(raw, bottom))


def test_fairness_undefined_lists_follow_empty():
    s, g = _list([], n=20)  # no protected item
    assert rnd(s, g).item() == 0.0
    assert math.isnan(rnd(s, g, empty="skip", reduction="none").item())
    short_s, short_g = _list([0], n=5)  # shorter than the first cut-off
    assert rnd(short_s, short_g, reduction="none").item() == 0.0
    with pytest.raises(ValueError, match="groups must be 0/1"):
        rnd(s, torch.full((1, 20), 2.0))


def test_exposure_disparity():
    s, g = _list(list(range(20, 40)))  # protected half at the bottom
    assert exposure_disparity(s, g).item() > 0
    s, g = _list(list(range(20)))
    assert exposure_disparity(s, g).item() < 0
    # two items: protected second; exposures 1 and 1/log2(3)
    two = torch.tensor([[2.0, 1.0]])
    groups = torch.tensor([[0, 1]])
    assert exposure_disparity(two, groups).item() == pytest.approx(1 - 1 / math.log2(3))
    labels = torch.tensor([[2.0, 1.0]])
    dt = exposure_disparity(two, groups, labels=labels, kind="disparate_treatment")
    assert dt.item() == pytest.approx(1 / 2 - (1 / math.log2(3)) / 1)
