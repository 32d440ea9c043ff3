"""Paired tests, intervals and corrections, checked against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from rankwise.metrics import (
    adjust_p_values,
    bootstrap_ci,
    paired_t_test,
    randomization_test,
    wilcoxon_test,
)


@pytest.mark.parametrize("n", [3, 8, 25, 49, 120])
def test_t_and_wilcoxon_match_scipy(n):
    rng = np.random.default_rng(n)
    a = rng.normal(size=n)
    b = a + rng.normal(0.3, 1.0, size=n)
    ours, ref = paired_t_test(a, b), st.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ours, ref = wilcoxon_test(a, b), st.wilcoxon(a, b)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_wilcoxon_with_ties_and_zeros_matches_scipy():
    rng = np.random.default_rng(3)
    a = np.round(rng.normal(size=60), 1)
    b = np.round(rng.normal(size=60), 1)
    b[:5] = a[:5]  # zero differences are dropped
    ours, ref = wilcoxon_test(a, b), st.wilcoxon(a, b)
    assert ours.statistic == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.n == int((a != b).sum())


def test_randomization_exact_matches_scipy_and_sampled_is_seeded():
    rng = np.random.default_rng(4)
    a = rng.normal(size=12)
    b = a + 0.4 + rng.normal(0, 0.3, size=12)
    ref = st.permutation_test(
        (a, b), lambda x, y: np.mean(x - y), permutation_type="samples", n_resamples=np.inf
    )
    assert randomization_test(a, b).p_value == pytest.approx(ref.pvalue)
    big_a = rng.normal(size=200)
    big_b = big_a + rng.normal(0.1, 1.0, size=200)
    p1 = randomization_test(big_a, big_b, seed=1).p_value
    assert p1 == randomization_test(big_a, big_b, seed=1).p_value
    assert abs(p1 - paired_t_test(big_a, big_b).p_value) < 0.05


def test_identical_systems_are_not_significant():
    a = np.linspace(0, 1, 30)
    assert paired_t_test(a, a).p_value == 1.0
    assert wilcoxon_test(a, a).p_value == 1.0
    assert randomization_test(a, a).p_value == 1.0


def test_bootstrap_interval():
    rng = np.random.default_rng(5)
    x = rng.normal(0.5, 0.1, size=400)
    lo, hi = bootstrap_ci(x)
    assert lo < x.mean() < hi
    assert hi - lo == pytest.approx(2 * 1.96 * x.std(ddof=1) / np.sqrt(400), rel=0.15)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)


def test_corrections():
    p = [0.01, 0.04, 0.03, 0.2]
    assert adjust_p_values(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.8])
    assert adjust_p_values(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust_p_values(p, "bh") == pytest.approx(st.false_discovery_control(p).tolist())
    assert adjust_p_values(p, "none") == p
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values(p, "sidak")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        paired_t_test([1.0, float("nan")], [1.0, 2.0])
