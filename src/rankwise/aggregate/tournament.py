"""Tournaments over a pairwise comparator: knockout, Swiss system, Monte-Carlo Swiss.

A match between ``a`` and ``b`` asks the comparator for ``p = P(a over b)`` and draws the
winner from it with the seeded ``generator`` (a 0/1 comparator is deterministic), so a
tournament is reproducible from its seed. Every driver reports how many comparisons
(matches) it used.

- :func:`knockout` — single elimination, as used to pick the best of N candidates with a
  pairwise reward model ("Pairwise RM", 2025): ``n - 1`` matches, ``ceil(log2 n)``
  rounds. The bracket is the next power of two; the ``2^r - n`` best seeds get a bye in
  round one; seed ``s`` meets seed ``P + 1 - s`` (P the bracket size) as in sports draws.
- :func:`swiss` — Swiss-system rounds: each round pairs players with equal or close
  scores (sorted by score, then by seed, adjacent players meet unless they already did),
  a win is worth 1, a bye 1; ``floor(n/2)`` matches per round.
- :func:`expected_win_scores` — "LLM Swiss Round"-style Monte-Carlo estimate: the mean
  final Swiss score of each candidate over ``samples`` tournaments with random initial
  pairings (random seeds), with its standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rankwise.aggregate.pairwise import (
    Comparator,
    CountingComparator,
    FloatArray,
    Generator,
    IntArray,
    as_generator,
)


def _play(
    comparator: CountingComparator, a: IntArray, b: IntArray, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """True where ``a`` beats ``b`` (drawn from the comparator's probability)."""
    p = comparator(a, b)
    return rng.random(p.shape) < p


def _seeding(n: int, seeding: npt.ArrayLike | None) -> IntArray:
    s = np.arange(n, dtype=np.int64) if seeding is None else np.asarray(seeding, dtype=np.int64)
    if sorted(s.tolist()) != list(range(n)):
        raise ValueError("seeding must be a permutation of 0 .. n-1 (best seed first)")
    return s


@dataclass
class KnockoutResult:
    """Result of :func:`knockout`."""

    winner: int
    rounds_won: IntArray  # per item: matches won (a bye counts as a round won)
    order: IntArray  # by rounds won, then seed: winner, finalist, semi-finalists, ...
    comparisons: int
    rounds: int


def knockout(
    n: int,
    comparator: Comparator,
    *,
    seeding: npt.ArrayLike | None = None,
    generator: Generator = None,
) -> KnockoutResult:
    """Single-elimination tournament over items ``0 .. n-1`` (``seeding``: best first)."""
    if n < 1:
        raise ValueError("knockout: need at least one candidate")
    rng = as_generator(generator)
    counting = CountingComparator(comparator)
    seeds = _seeding(n, seeding)
    rounds = math.ceil(math.log2(n)) if n > 1 else 0
    size = 2**rounds
    # bracket positions by the standard draw: 1 v P, then each half mirrored recursively
    slots = [1]
    while len(slots) < size:
        m = 2 * len(slots) + 1
        slots = [x for s in slots for x in (s, m - s)]
    bracket = [int(seeds[s - 1]) if s <= n else -1 for s in slots]  # -1: a bye
    rounds_won = np.zeros(n, dtype=np.int64)
    alive = bracket
    while len(alive) > 1:
        a = np.array(alive[0::2], dtype=np.int64)
        b = np.array(alive[1::2], dtype=np.int64)
        real = (a >= 0) & (b >= 0)
        winners = np.where(a >= 0, a, b)  # a bye: the other one advances
        if real.any():
            a_wins = _play(counting, a[real], b[real], rng)
            winners[real] = np.where(a_wins, a[real], b[real])
        advancing = winners[winners >= 0]
        rounds_won[advancing] += 1
        alive = winners.tolist()
    winner = int(alive[0])
    position = np.empty(n, dtype=np.int64)
    position[seeds] = np.arange(n)
    order = np.lexsort((position, -rounds_won)).astype(np.int64)
    return KnockoutResult(winner, rounds_won, order, counting.comparisons, rounds)


@dataclass
class SwissResult:
    """Result of :func:`swiss`."""

    scores: FloatArray  # points per item
    order: IntArray  # by points, then Buchholz (sum of opponents' points), then seed
    comparisons: int
    rounds: int


def swiss(
    n: int,
    comparator: Comparator,
    *,
    rounds: int | None = None,
    seeding: npt.ArrayLike | None = None,
    generator: Generator = None,
) -> SwissResult:
    """Swiss-system tournament: ``rounds`` (default ``ceil(log2 n)``) rounds of pairings
    between players of equal or close scores; no pair meets twice while avoidable."""
    if n < 1:
        raise ValueError("swiss: need at least one candidate")
    rng = as_generator(generator)
    counting = CountingComparator(comparator)
    seeds = _seeding(n, seeding)
    rounds = max(math.ceil(math.log2(n)), 1) if rounds is None else rounds
    if rounds < 1:
        raise ValueError(f"swiss: rounds must be >= 1, got {rounds}")
    position = np.empty(n, dtype=np.int64)
    position[seeds] = np.arange(n)
    points = np.zeros(n)
    met: set[tuple[int, int]] = set()
    opponents: list[list[int]] = [[] for _ in range(n)]
    had_bye = np.zeros(n, dtype=bool)
    for _ in range(rounds):
        standing = [int(x) for x in np.lexsort((position, -points))]
        if len(standing) % 2:
            # the lowest-standing player without a bye sits out and scores 1
            bye = next((p for p in reversed(standing) if not had_bye[p]), standing[-1])
            standing.remove(bye)
            had_bye[bye] = True
            points[bye] += 1
        first, second = [], []
        while standing:
            a = standing.pop(0)
            partner = next((b for b in standing if (min(a, b), max(a, b)) not in met), standing[0])
            standing.remove(partner)
            met.add((min(a, partner), max(a, partner)))
            opponents[a].append(partner)
            opponents[partner].append(a)
            first.append(a)
            second.append(partner)
        a_arr, b_arr = np.array(first, dtype=np.int64), np.array(second, dtype=np.int64)
        a_wins = _play(counting, a_arr, b_arr, rng)
        np.add.at(points, a_arr[a_wins], 1.0)
        np.add.at(points, b_arr[~a_wins], 1.0)
    buchholz = np.array([points[o].sum() if o else 0.0 for o in opponents])
    order = np.lexsort((position, -buchholz, -points)).astype(np.int64)
    return SwissResult(points, order, counting.comparisons, rounds)


@dataclass
class ExpectedWinScores:
    """Result of :func:`expected_win_scores`."""

    mean: FloatArray  # expected final Swiss score per item
    stderr: FloatArray  # its Monte-Carlo standard error
    order: IntArray  # by mean, ties by item id
    comparisons: int
    samples: int


def expected_win_scores(
    n: int,
    comparator: Comparator,
    *,
    rounds: int | None = None,
    samples: int = 100,
    generator: Generator = None,
) -> ExpectedWinScores:
    """Mean Swiss score of each item over ``samples`` tournaments with random seedings."""
    if samples < 1:
        raise ValueError(f"expected_win_scores: samples must be >= 1, got {samples}")
    rng = as_generator(generator)
    totals = np.zeros((samples, n))
    comparisons = 0
    for s in range(samples):
        result = swiss(n, comparator, rounds=rounds, seeding=rng.permutation(n), generator=rng)
        totals[s] = result.scores
        comparisons += result.comparisons
    mean = totals.mean(0)
    stderr = totals.std(0, ddof=1) / math.sqrt(samples) if samples > 1 else np.zeros(n)
    order = np.lexsort((np.arange(n), -mean)).astype(np.int64)
    return ExpectedWinScores(mean, stderr, order, comparisons, samples)
