"""Ranking a candidate set from pairwise preferences: comparators, pair samplers, aggregators.

Gienapp et al., "Sparse Pairwise Re-ranking with Pre-trained Transformers" (ICTIR 2022):
a pairwise model is too expensive to run on all ``n(n-1)/2`` pairs of a large candidate
set, so a *sampler* chooses which pairs to compare and an *aggregator* turns the sparse
outcomes into one ranking.

Vocabulary (items are ``0 .. n-1``; everything is numpy, seeded by ``generator``: a
``torch.Generator`` as elsewhere in rankwise, a numpy Generator or an int seed):

- A **comparator** is any callable ``comparator(first, second) -> p`` taking two int
  arrays of item ids and returning, per pair, the probability (or a 0/1 decision) that
  ``first`` is preferred; :func:`scalar_comparator` wraps a per-pair callable
  ``judge(i, j)`` (a model call per pair), :func:`matrix_comparator` an [n, n] matrix,
  :func:`score_comparator` a vector of scores, :func:`simulated_comparator` draws noisy
  Bradley-Terry or Thurstone outcomes from known strengths. :class:`CountingComparator`
  counts the pairs asked.
- A **sampler** returns the pairs to compare as an int array [m, 2], each unordered pair
  at most once: :func:`all_pairs`, :func:`random_pairs` (``k`` random opponents per
  item), :func:`window_pairs` (each item against its next ``window`` neighbours in an
  initial ranking).
- An **aggregator** maps ``(n, pairs, outcomes)`` to one score per item (higher is
  better): :func:`win_count`, :func:`win_rate`, :func:`copeland`, :func:`bradley_terry`,
  :func:`pagerank`, :func:`kwiksort`. ``outcomes[i]`` is the probability that
  ``pairs[i, 0]`` beats ``pairs[i, 1]`` (1 = it won, 0.5 = tie).

:func:`rank_by_comparisons` chains the three and reports how many comparisons it used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import torch

from rankwise.registry import Registry

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# ``generator`` is a torch.Generator everywhere in rankwise; this numpy package also takes
# a numpy Generator (kept as is, so one stream can feed several calls) or an int seed.
Generator = torch.Generator | np.random.Generator | int | None


def as_generator(generator: Generator) -> np.random.Generator:
    """The numpy generator behind ``generator``: itself for a numpy Generator,
    ``default_rng(seed)`` for an int, one seeded by a 63-bit draw for a ``torch.Generator``,
    fresh entropy for None.

    Example:
        >>> a = as_generator(torch.Generator().manual_seed(0)).integers(100)
        >>> b = as_generator(torch.Generator().manual_seed(0)).integers(100)
        >>> bool(a == b)
        True
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, torch.Generator):
        seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
        return np.random.default_rng(seed)
    return np.random.default_rng(generator)


class Comparator(Protocol):
    """``comparator(first, second)``: P(``first[i]`` preferred to ``second[i]``) per pair."""

    def __call__(self, first: IntArray, second: IntArray) -> npt.ArrayLike: ...


class CountingComparator:
    """Wraps a comparator and counts the pairs it was asked about (``.comparisons``)."""

    def __init__(self, comparator: Comparator) -> None:
        self.comparator = comparator
        self.comparisons = 0

    def __call__(self, first: IntArray, second: IntArray) -> FloatArray:
        first = np.asarray(first, dtype=np.int64)
        second = np.asarray(second, dtype=np.int64)
        if first.shape != second.shape:
            raise ValueError(f"comparator: {first.shape} first items but {second.shape} second")
        if first.size == 0:
            return np.zeros(0)
        out = np.asarray(self.comparator(first, second), dtype=np.float64).reshape(-1)
        if out.shape != first.shape:
            raise ValueError(
                f"comparator returned {out.size} outcomes for {first.size} pairs; it must "
                "return one probability per pair"
            )
        if not np.isfinite(out).all() or (out < 0).any() or (out > 1).any():
            raise ValueError("comparator outcomes must be probabilities in [0, 1]")
        self.comparisons += int(first.size)
        return out


def scalar_comparator(judge: Callable[[int, int], float | bool], *, workers: int = 1) -> Comparator:
    """Comparator from a per-pair callable ``judge(i, j)`` returning True/False (``i``
    preferred or not) or a probability — e.g. a cross-encoder or an LLM prompt per pair.
    With ``workers > 1`` the pairs of one request are judged on a thread pool."""
    if workers < 1:
        raise ValueError(f"scalar_comparator: workers must be >= 1, got {workers}")

    def compare(first: IntArray, second: IntArray) -> FloatArray:
        pairs = list(zip(first.tolist(), second.tolist(), strict=True))
        if workers == 1 or len(pairs) < 2:
            verdicts = [judge(i, j) for i, j in pairs]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                verdicts = list(pool.map(lambda p: judge(*p), pairs))
        return np.asarray([float(v) for v in verdicts], dtype=np.float64)

    return compare


def matrix_comparator(preferences: npt.ArrayLike) -> Comparator:
    """Comparator reading P(i over j) from an [n, n] matrix (``P[i, j] + P[j, i] = 1``)."""
    matrix = np.asarray(preferences, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix_comparator: expected an [n, n] matrix, got {matrix.shape}")

    def compare(first: IntArray, second: IntArray) -> FloatArray:
        return matrix[first, second]

    return compare


def score_comparator(scores: npt.ArrayLike, temperature: float = 0.0) -> Comparator:
    """Comparator from scores: ``1[s_i > s_j]`` (0.5 on ties), or
    ``sigmoid((s_i - s_j) / temperature)`` when ``temperature > 0``."""
    s = np.asarray(scores, dtype=np.float64)

    def compare(first: IntArray, second: IntArray) -> FloatArray:
        diff = s[first] - s[second]
        if temperature > 0:
            return 1.0 / (1.0 + np.exp(-diff / temperature))
        return np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5))

    return compare


def simulated_comparator(
    strengths: npt.ArrayLike,
    *,
    model: Literal["bradley_terry", "thurstone"] = "bradley_terry",
    noise: float = 1.0,
    generator: Generator = None,
) -> Comparator:
    """A noisy judge with a known true order, for testing aggregation.

    Each call draws a fresh 0/1 outcome per pair: under Bradley-Terry
    ``P(i over j) = sigmoid((s_i - s_j) / noise)``; under Thurstone (case V)
    ``P(i over j) = Phi((s_i - s_j) / (noise * sqrt(2)))``. Smaller ``noise`` is a
    more reliable judge.
    """
    s = np.asarray(strengths, dtype=np.float64)
    if noise <= 0:
        raise ValueError(f"simulated_comparator: noise must be > 0, got {noise}")
    rng = as_generator(generator)

    def compare(first: IntArray, second: IntArray) -> FloatArray:
        diff = s[first] - s[second]
        if model == "bradley_terry":
            p = 1.0 / (1.0 + np.exp(-diff / noise))
        elif model == "thurstone":
            p = 0.5 * (1.0 + np.vectorize(math.erf)(diff / (2.0 * noise)))
        else:
            raise ValueError(f"simulated_comparator: unknown model {model!r}")
        return (rng.random(p.shape) < p).astype(np.float64)

    return compare


# ---------------------------------------------------------------------------------------
# samplers


def _unique_pairs(pairs: IntArray) -> IntArray:
    """Drop self pairs and repeated unordered pairs, keeping the first orientation."""
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    key = np.sort(pairs, axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    return pairs[np.sort(first)].astype(np.int64)


def all_pairs(n: int) -> IntArray:
    """Every unordered pair ``(i, j)``, ``i < j``: ``n(n-1)/2`` comparisons."""
    i, j = np.triu_indices(n, k=1)
    return np.stack([i, j], axis=1).astype(np.int64)


def random_pairs(n: int, k: int, *, generator: Generator = None) -> IntArray:
    """``k`` uniformly random distinct opponents per item (deduplicated): at most ``n k``
    comparisons, about ``n k - k^2/2`` for large ``n`` (each pair is drawn from both ends)."""
    if k < 1:
        raise ValueError(f"random_pairs: k must be >= 1, got {k}")
    rng = as_generator(generator)
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    # opponents: a random k-subset of the other n-1 items, via argsort of random keys
    keys = rng.random((n, n - 1))
    picks = np.argsort(keys, axis=1)[:, :k]
    others = picks + (picks >= np.arange(n)[:, None])  # skip the item itself
    first = np.repeat(np.arange(n), k)
    return _unique_pairs(np.stack([first, others.reshape(-1)], axis=1))


def window_pairs(order: npt.ArrayLike, window: int) -> IntArray:
    """Each item against the next ``window`` items of an initial ranking ``order``
    (a sliding window / neighbourhood sampler): about ``n * window`` comparisons."""
    if window < 1:
        raise ValueError(f"window_pairs: window must be >= 1, got {window}")
    o = np.asarray(order, dtype=np.int64)
    pairs = [np.stack([o[:-d], o[d:]], axis=1) for d in range(1, min(window, o.size - 1) + 1)]
    return _unique_pairs(np.concatenate(pairs)) if pairs else np.zeros((0, 2), dtype=np.int64)


# ---------------------------------------------------------------------------------------
# aggregators


def _check(n: int, pairs: IntArray, outcomes: FloatArray) -> tuple[IntArray, FloatArray]:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    outcomes = np.asarray(outcomes, dtype=np.float64).reshape(-1)
    if outcomes.shape[0] != pairs.shape[0]:
        raise ValueError(f"{pairs.shape[0]} pairs but {outcomes.shape[0]} outcomes")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"pair items must lie in [0, {n}), got [{pairs.min()}, {pairs.max()}]")
    return pairs, outcomes


def _total(index: IntArray, weights: FloatArray, n: int) -> FloatArray:
    """Sum of ``weights`` per item id (a float ``bincount``)."""
    return np.asarray(np.bincount(index, weights, n), dtype=np.float64)


def _wins_and_games(n: int, pairs: IntArray, outcomes: FloatArray) -> tuple[FloatArray, FloatArray]:
    wins = _total(pairs[:, 0], outcomes, n) + _total(pairs[:, 1], 1 - outcomes, n)
    games = _total(pairs.reshape(-1), np.ones(pairs.size), n)
    return wins, games


def win_count(n: int, pairs: IntArray, outcomes: FloatArray) -> FloatArray:
    """Borda-style win count: the (soft) number of comparisons each item won."""
    pairs, outcomes = _check(n, pairs, outcomes)
    return _wins_and_games(n, pairs, outcomes)[0]


def win_rate(n: int, pairs: IntArray, outcomes: FloatArray) -> FloatArray:
    """Wins / comparisons per item (JointRank's "Winrate"); never-compared items get 0.5."""
    pairs, outcomes = _check(n, pairs, outcomes)
    wins, games = _wins_and_games(n, pairs, outcomes)
    return np.where(games > 0, wins / np.maximum(games, 1), 0.5)


def copeland(n: int, pairs: IntArray, outcomes: FloatArray) -> FloatArray:
    """Copeland: wins minus losses, where a comparison is won with outcome > 1/2."""
    pairs, outcomes = _check(n, pairs, outcomes)
    sign = np.sign(outcomes - 0.5)
    return _total(pairs[:, 0], sign, n) - _total(pairs[:, 1], sign, n)


@dataclass
class FitReport:
    """How an iterative aggregator ended."""

    iterations: int
    converged: bool
    change: float  # the last update's size (max abs change)


def _no_convergence(
    name: str, max_iter: int, change: float, report: list[FitReport] | None
) -> RuntimeError:
    """Record a failed fit in ``report`` and build the error to raise."""
    if report is not None:
        report.append(FitReport(max_iter, False, change))
    return RuntimeError(
        f"{name}: no convergence after {max_iter} iterations (last change {change:.3g})"
    )


def bradley_terry(
    n: int,
    pairs: IntArray,
    outcomes: FloatArray,
    *,
    prior: float = 0.1,
    tol: float = 1e-9,
    max_iter: int = 100,
    report: list[FitReport] | None = None,
) -> FloatArray:
    """Bradley-Terry log-strengths by (penalised) maximum likelihood (Bradley & Terry 1952).

    ``P(i over j) = sigmoid(theta_i - theta_j)``. The MLE does not exist when an item wins
    (or loses) all its comparisons, so every item also plays ``prior`` virtual wins and
    ``prior`` virtual losses against a reference of strength 0 (a MAP estimate, as in
    Hunter's "MM algorithms for generalized Bradley-Terry models", 2004; ``prior=0`` gives
    the plain MLE, centred to mean 0). The concave log-likelihood is maximised by Newton's
    method with step halving — the Hessian is a weighted graph Laplacian plus the prior's
    diagonal — until the largest update is below ``tol``: a handful of iterations where
    the MM iteration needs thousands on nearly separable data. Appends a
    :class:`FitReport` to ``report`` if given; raises if ``max_iter`` passes without
    convergence. ``O(iterations * (m + n^3))``: meant for candidate sets of up to a few
    thousand items.
    """
    pairs, outcomes = _check(n, pairs, outcomes)
    if prior < 0:
        raise ValueError(f"bradley_terry: prior must be >= 0, got {prior}")
    wins = _wins_and_games(n, pairs, outcomes)[0]
    if prior == 0 and (wins <= 0).any():
        raise ValueError("bradley_terry: an item never wins, the MLE does not exist; use prior > 0")
    first, second = pairs[:, 0], pairs[:, 1]

    def log_likelihood(theta: FloatArray) -> float:
        d = theta[first] - theta[second]
        pairs_part = outcomes * -np.logaddexp(0, -d) + (1 - outcomes) * -np.logaddexp(0, d)
        prior_part = -np.logaddexp(0, -theta) - np.logaddexp(0, theta)
        return float(pairs_part.sum() + prior * prior_part.sum())

    theta: FloatArray = np.zeros(n)
    current = log_likelihood(theta)
    change = math.inf
    for iteration in range(1, max_iter + 1):
        p = 1.0 / (1.0 + np.exp(-(theta[first] - theta[second])))
        residual = outcomes - p
        q = 1.0 / (1.0 + np.exp(-theta))
        gradient = _total(first, residual, n) - _total(second, residual, n)
        gradient += prior * (1.0 - 2.0 * q)
        w = p * (1.0 - p)
        hessian = np.zeros((n, n))
        np.add.at(hessian, (first, first), w)
        np.add.at(hessian, (second, second), w)
        np.add.at(hessian, (first, second), -w)
        np.add.at(hessian, (second, first), -w)
        hessian[np.diag_indices(n)] += 2.0 * prior * q * (1.0 - q) + 1e-12
        step = (
            np.linalg.lstsq(hessian, gradient, rcond=None)[0]
            if prior == 0
            else np.linalg.solve(hessian, gradient)
        )
        scale = 1.0
        while scale > 1e-6:  # step halving keeps every iteration an ascent step
            candidate = theta + scale * step
            if prior == 0:
                candidate = candidate - candidate.mean()
            value = log_likelihood(candidate)
            if value >= current - 1e-12:
                break
            scale /= 2
        change = float(np.abs(candidate - theta).max()) if n else 0.0
        theta, current = candidate, value
        if change < tol:
            if report is not None:
                report.append(FitReport(iteration, True, change))
            return theta
    raise _no_convergence("bradley_terry", max_iter, change, report)


def pagerank(
    n: int,
    pairs: IntArray,
    outcomes: FloatArray,
    *,
    damping: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    report: list[FitReport] | None = None,
) -> FloatArray:
    """PageRank on the preference graph (Brin & Page 1998): each comparison sends weight
    from the loser to the winner (``p`` from j to i, ``1 - p`` from i to j), so authority
    flows to items preferred over strong items. Items that never lose spread their mass
    uniformly. Power iteration to L1 change < ``tol``; raises without convergence."""
    pairs, outcomes = _check(n, pairs, outcomes)
    if not 0 < damping < 1:
        raise ValueError(f"pagerank: damping must lie in (0, 1), got {damping}")
    if n == 0:
        return np.zeros(0)
    source = np.concatenate([pairs[:, 1], pairs[:, 0]])
    target = np.concatenate([pairs[:, 0], pairs[:, 1]])
    weight = np.concatenate([outcomes, 1.0 - outcomes])
    out_weight = np.bincount(source, weight, n)
    share = weight / np.where(out_weight[source] > 0, out_weight[source], 1.0)
    dangling = out_weight <= 0
    rank: FloatArray = np.full(n, 1.0 / n)
    change = math.inf
    for iteration in range(1, max_iter + 1):
        flow = _total(target, rank[source] * share, n) + rank[dangling].sum() / n
        new = (1 - damping) / n + damping * flow
        change = float(np.abs(new - rank).sum())
        rank = new
        if change < tol:
            if report is not None:
                report.append(FitReport(iteration, True, change))
            return rank
    raise _no_convergence("pagerank", max_iter, change, report)


def kwiksort(
    n: int, pairs: IntArray, outcomes: FloatArray, *, generator: Generator = None
) -> FloatArray:
    """KwikSort (Ailon, Charikar & Newman, "Aggregating inconsistent information", 2008):
    quicksort with random pivots where an item goes before the pivot if it was preferred
    to it. With sparse comparisons an unobserved (or tied) pair is decided by the two
    items' win rates, then by item id. Returns scores ``n - position``. Expected
    ``O(n log n)`` lookups."""
    pairs, outcomes = _check(n, pairs, outcomes)
    rng = as_generator(generator)
    rate = win_rate(n, pairs, outcomes)
    observed: dict[tuple[int, int], float] = {}
    for (i, j), p in zip(pairs.tolist(), outcomes.tolist(), strict=True):
        # several observations of one pair are averaged
        a, b, q = (i, j, p) if i < j else (j, i, 1 - p)
        prev = observed.get((a, b))
        observed[(a, b)] = q if prev is None else (prev + q) / 2

    def before(x: int, pivot: int) -> bool:
        a, b = (x, pivot) if x < pivot else (pivot, x)
        p = observed.get((a, b))
        if p is not None and p != 0.5:
            return (p > 0.5) == (x == a)
        if rate[x] != rate[pivot]:
            return bool(rate[x] > rate[pivot])
        return x < pivot

    order: list[int] = []
    stack: list[list[int] | int] = [list(range(n))]
    while stack:  # iterative quicksort: left part, pivot, right part, in order
        part = stack.pop()
        if isinstance(part, int):
            order.append(part)
            continue
        if len(part) <= 1:
            order.extend(part)
            continue
        pivot = part[int(rng.integers(len(part)))]
        left = [x for x in part if x != pivot and before(x, pivot)]
        right = [x for x in part if x != pivot and not before(x, pivot)]
        stack.extend([right, pivot, left])
    scores = np.empty(n)
    scores[np.asarray(order, dtype=np.int64)] = n - np.arange(n)
    return scores


Aggregator = Callable[[int, IntArray, FloatArray], FloatArray]
#: Pairwise aggregators by name (kind ``"pairwise_aggregator"``).
AGGREGATORS: Registry[FloatArray] = Registry(
    "pairwise_aggregator", per_call=("n", "pairs", "outcomes", "generator")
)
for _aggregator in (win_count, win_rate, copeland, bradley_terry, pagerank):
    AGGREGATORS.add(_aggregator.__name__, _aggregator)
AGGREGATORS.add("kwiksort", kwiksort, randomized=True)

#: Pair samplers by name (kind ``"pair_sampler"``).
PAIR_SAMPLERS: Registry[IntArray] = Registry(
    "pair_sampler", per_call=("n", "initial", "k", "window", "generator")
)


@PAIR_SAMPLERS.register("all")
def _sample_all(
    n: int, initial: IntArray, k: int, window: int, generator: np.random.Generator
) -> IntArray:
    """Every pair (:func:`all_pairs`)."""
    return all_pairs(n)


@PAIR_SAMPLERS.register("random")
def _sample_random(
    n: int, initial: IntArray, k: int, window: int, generator: np.random.Generator
) -> IntArray:
    """``k`` random opponents per item (:func:`random_pairs`)."""
    return random_pairs(n, k, generator=generator)


@PAIR_SAMPLERS.register("window")
def _sample_window(
    n: int, initial: IntArray, k: int, window: int, generator: np.random.Generator
) -> IntArray:
    """Each item against its next ``window`` neighbours in the initial order."""
    return window_pairs(initial, window)


def order_from_scores(scores: FloatArray) -> IntArray:
    """Items by descending score, ties by item id."""
    return np.lexsort((np.arange(scores.size), -scores)).astype(np.int64)


@dataclass
class PairwiseRanking:
    """Result of :func:`rank_by_comparisons`."""

    order: IntArray  # items, best first
    scores: FloatArray  # the aggregator's score per item
    comparisons: int  # comparator calls (pairs judged)


def rank_by_comparisons(
    n: int,
    comparator: Comparator,
    *,
    sampler: str = "all",
    aggregator: str = "bradley_terry",
    k: int = 4,
    window: int = 4,
    initial_order: npt.ArrayLike | None = None,
    generator: Generator = None,
) -> PairwiseRanking:
    """Sample pairs, ask ``comparator`` about them, aggregate into one ranking.

    ``sampler``: ``"all"`` (:func:`all_pairs`), ``"random"`` (:func:`random_pairs`, ``k``
    per item) or ``"window"`` (:func:`window_pairs` over ``initial_order``, default
    ``0 .. n-1``; the keys of :data:`PAIR_SAMPLERS`). ``aggregator``: a key of
    :data:`AGGREGATORS`. Ties of the aggregate
    score are broken by ``initial_order`` (if given) so an uninformative aggregate falls
    back to the first-stage ranking.
    """
    rng = as_generator(generator)
    aggregate = AGGREGATORS.choose(aggregator, "aggregator")
    sample = PAIR_SAMPLERS.choose(sampler, "sampler")
    initial = (
        np.arange(n, dtype=np.int64)
        if initial_order is None
        else np.asarray(initial_order, dtype=np.int64)
    )
    if sorted(initial.tolist()) != list(range(n)):
        raise ValueError("initial_order must be a permutation of 0 .. n-1")
    pairs = sample(n, initial, k, window, rng)
    counting = CountingComparator(comparator)
    outcomes = counting(pairs[:, 0], pairs[:, 1])
    if AGGREGATORS.meta(aggregator).get("randomized"):
        scores = aggregate(n, pairs, outcomes, generator=rng)
    else:
        scores = aggregate(n, pairs, outcomes)
    position = np.empty(n, dtype=np.int64)
    position[initial] = np.arange(n)
    order = np.lexsort((position, -scores)).astype(np.int64)
    return PairwiseRanking(order, scores, counting.comparisons)
