"""Comparing systems on per-query metric values: significance tests and intervals.

All tests are paired (the same queries, in the same order) and two-sided:

- :func:`paired_t_test`: Student's t on the differences (Smucker et al. 2007 found it
  agrees well with the randomisation test for IR metrics).
- :func:`wilcoxon_test`: Wilcoxon signed-rank; exact null distribution for up to 50
  non-zero differences without ties, else the normal approximation with the tie
  correction (zero differences dropped, as ``zero_method="wilcox"``).
- :func:`randomization_test`: the paired permutation test on the mean difference: all
  2^n sign flips when n <= ``exact_max`` (16), else ``n_resamples`` random ones from a
  seeded generator (p with the +1 correction of Phipson & Smyth 2010).
- :func:`bootstrap_ci`: percentile bootstrap interval of the mean (or of the mean paired
  difference), seeded.
- :func:`adjust_p_values`: Bonferroni, Holm, and Benjamini-Hochberg corrections for
  several comparisons.

The t and normal distributions are computed here (regularized incomplete beta by a
continued fraction, erfc), so rankwise needs no statistics package; the test suite
checks them against SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Test = Literal["t", "wilcoxon", "randomization"]
Correction = Literal["none", "bonferroni", "holm", "bh"]


@dataclass(frozen=True)
class TestResult:
    """A test's statistic and two-sided p-value."""

    statistic: float
    p_value: float
    n: int  # number of pairs used


def _pairs(a: ArrayLike, b: ArrayLike | None) -> npt.NDArray[np.float64]:
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    if b is None:
        d = x
    else:
        y = np.asarray(b, dtype=np.float64).reshape(-1)
        if x.shape != y.shape:
            raise ValueError(f"paired tests need equal lengths, got {x.size} and {y.size}")
        d = x - y
    if np.isnan(d).any():
        raise ValueError("per-query values contain NaN (skipped queries?): drop them first")
    return d


# ------------------------------------------------------------------ distributions
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else 1.0 + aa / tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf_two_sided(t: float, df: float) -> float:
    """``P(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def normal_sf_two_sided(z: float) -> float:
    """Two-sided p-value of a standard normal statistic ``z``."""
    return math.erfc(abs(z) / math.sqrt(2.0))


# ---------------------------------------------------------------------------- tests
def paired_t_test(a: ArrayLike, b: ArrayLike | None = None) -> TestResult:
    """Two-sided paired t-test of mean(a - b) = 0 (or of mean(a) = 0 when b is None)."""
    d = _pairs(a, b)
    n = d.size
    if n < 2:
        return TestResult(float("nan"), 1.0, n)
    sd = d.std(ddof=1)
    mean = d.mean()
    if sd == 0:
        return TestResult(
            0.0 if mean == 0 else math.copysign(math.inf, mean), 1.0 if mean == 0 else 0.0, n
        )
    t = mean / (sd / math.sqrt(n))
    return TestResult(float(t), t_sf_two_sided(float(t), n - 1), n)


def _signed_rank_exact_sf(w: float, n: int) -> float:
    """P(W+ >= w) under H0 for n ranks 1..n (no ties), by counting subsets."""
    total = n * (n + 1) // 2
    counts = np.zeros(total + 1, dtype=np.float64)
    counts[0] = 1.0
    for r in range(1, n + 1):
        counts[r:] = counts[r:] + counts[:-r].copy()
    counts /= 2.0**n
    k = math.ceil(w - 1e-9)
    return float(counts[k:].sum())


def wilcoxon_test(a: ArrayLike, b: ArrayLike | None = None) -> TestResult:
    """Two-sided Wilcoxon signed-rank test; the statistic is min(W+, W-) (as SciPy)."""
    d = _pairs(a, b)
    d = d[d != 0]
    n = d.size
    if n == 0:
        return TestResult(0.0, 1.0, 0)
    absd = np.abs(d)
    order = np.argsort(absd, kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    sorted_abs = absd[order]
    # average ranks over ties
    i = 0
    tie_term = 0.0
    while i < n:
        j = i
        while j + 1 < n and sorted_abs[j + 1] == sorted_abs[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j + 2) / 2.0
        t = j - i + 1
        tie_term += t**3 - t
        i = j + 1
    w_plus = float(ranks[d > 0].sum())
    w_minus = float(ranks[d < 0].sum())
    stat = min(w_plus, w_minus)
    has_ties = tie_term > 0
    if n <= 50 and not has_ties:
        upper = max(w_plus, w_minus)
        p = min(1.0, 2.0 * _signed_rank_exact_sf(upper, n))
        return TestResult(stat, p, n)
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - tie_term / 48.0
    z = (stat - mean) / math.sqrt(var) if var > 0 else 0.0
    return TestResult(stat, normal_sf_two_sided(z), n)


def randomization_test(
    a: ArrayLike,
    b: ArrayLike | None = None,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    exact_max: int = 16,
) -> TestResult:
    """Two-sided paired randomisation (sign-flip permutation) test of the mean difference."""
    d = _pairs(a, b)
    n = d.size
    if n == 0:
        return TestResult(0.0, 1.0, 0)
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    if n <= exact_max:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        means = np.abs((signs * d).mean(axis=1))
        return TestResult(float(d.mean()), float((means >= observed - tol).mean()), n)
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < n_resamples:
        block = min(4096, n_resamples - done)
        signs = rng.integers(0, 2, size=(block, n)) * 2 - 1
        hits += int((np.abs((signs * d).mean(axis=1)) >= observed - tol).sum())
        done += block
    return TestResult(float(d.mean()), (hits + 1) / (n_resamples + 1), n)


def bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) (or of mean(a - b) for paired values)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    d = _pairs(a, b)
    if d.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for lo in range(0, n_resamples, 2048):
        hi = min(lo + 2048, n_resamples)
        idx = rng.integers(0, d.size, size=(hi - lo, d.size))
        means[lo:hi] = d[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def adjust_p_values(p_values: Sequence[float], method: Correction = "holm") -> list[float]:
    """Correct p-values for multiple comparisons (family-wise: Bonferroni, Holm; FDR: BH)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0 or method == "none":
        return [float(x) for x in p]
    if method == "bonferroni":
        return [float(x) for x in np.minimum(p * m, 1.0)]
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}; use none, bonferroni, holm or bh")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]


def significance_test(
    a: ArrayLike, b: ArrayLike, test: Test = "t", *, seed: int = 0, n_resamples: int = 10_000
) -> TestResult:
    """Dispatch to one of the paired tests by name."""
    if test == "t":
        return paired_t_test(a, b)
    if test == "wilcoxon":
        return wilcoxon_test(a, b)
    if test == "randomization":
        return randomization_test(a, b, seed=seed, n_resamples=n_resamples)
    raise ValueError(f"unknown test {test!r}; use t, wilcoxon or randomization")
