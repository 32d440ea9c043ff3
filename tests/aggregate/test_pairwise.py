"""Pairwise preference aggregation, JointRank and tournaments on simulated judges with a
known true order (Bradley-Terry and Thurstone), plus hand-checkable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from rankwise.aggregate import (
    AGGREGATORS,
    CountingComparator,
    all_pairs,
    block_design,
    bradley_terry,
    expected_win_scores,
    joint_rank,
    knockout,
    matrix_comparator,
    pagerank,
    random_pairs,
    rank_by_comparisons,
    scalar_comparator,
    score_comparator,
    simulated_comparator,
    swiss,
    window_pairs,
)
from rankwise.aggregate.pairwise import FitReport

N = 120


def strengths(seed: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, n)


def tau_to_truth(order: np.ndarray, truth: np.ndarray) -> float:
    """Kendall tau between a ranking (items best first) and the true strengths."""
    position = np.empty(order.size)
    position[order] = np.arange(order.size)
    return float(kendalltau(-position, truth).statistic)


def test_sampler_counts() -> None:
    assert len(all_pairs(10)) == 45
    pairs = random_pairs(50, 3, generator=0)
    assert len(pairs) <= 150
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert len({tuple(sorted(p)) for p in pairs.tolist()}) == len(pairs)  # no repeats
    assert (np.bincount(pairs.reshape(-1), minlength=50) >= 3).all()  # k per item at least
    order = np.random.default_rng(0).permutation(30)
    window = window_pairs(order, 3)
    assert len(window) == 29 + 28 + 27
    position = np.empty(30, dtype=int)
    position[order] = np.arange(30)
    assert (np.abs(position[window[:, 0]] - position[window[:, 1]]) <= 3).all()


@pytest.mark.parametrize("aggregator", sorted(AGGREGATORS))
def test_consistent_judge_on_all_pairs_gives_the_true_order(aggregator: str) -> None:
    truth = strengths(0, 40)
    result = rank_by_comparisons(
        40, score_comparator(truth), sampler="all", aggregator=aggregator, generator=0
    )
    assert result.comparisons == 40 * 39 // 2
    assert result.order.tolist() == np.argsort(-truth).tolist()


@pytest.mark.parametrize("model", ["bradley_terry", "thurstone"])
@pytest.mark.parametrize("aggregator", sorted(AGGREGATORS))
def test_recovery_improves_with_more_comparisons(model: str, aggregator: str) -> None:
    taus = []
    for k in (1, 4, 16):
        per_seed = []
        for seed in range(3):
            truth = strengths(seed)
            judge = simulated_comparator(truth, model=model, noise=1.0, generator=seed)  # type: ignore[arg-type]
            result = rank_by_comparisons(
                N, judge, sampler="random", k=k, aggregator=aggregator, generator=seed
            )
            assert result.comparisons <= N * k
            per_seed.append(tau_to_truth(result.order, truth))
        taus.append(np.mean(per_seed))
    assert taus[0] + 0.05 < taus[1] < taus[2] - 0.02, taus
    assert taus[2] > 0.75, taus


def test_window_sampler_refines_a_rough_initial_ranking() -> None:
    truth = strengths(3)
    rng = np.random.default_rng(103)
    initial = np.argsort(-(truth + rng.normal(0, 2.0, N)))  # a weak first stage
    judge = score_comparator(truth)
    result = rank_by_comparisons(
        N, judge, sampler="window", window=8, aggregator="bradley_terry", initial_order=initial
    )
    assert result.comparisons == sum(N - d for d in range(1, 9))
    assert tau_to_truth(result.order, truth) > tau_to_truth(initial, truth) + 0.05


def test_bradley_terry_matches_the_closed_form_and_reports_convergence() -> None:
    # two items, item 0 won 3 of 4 comparisons: MLE ratio pi_0 / pi_1 = 3
    pairs = np.array([[0, 1]] * 4)
    outcomes = np.array([1.0, 1.0, 1.0, 0.0])
    report: list[FitReport] = []
    log_pi = bradley_terry(2, pairs, outcomes, prior=0.0, report=report)
    assert log_pi[0] - log_pi[1] == pytest.approx(math.log(3), abs=1e-6)
    assert report[0].converged and report[0].iterations > 1
    with pytest.raises(ValueError, match="MLE does not exist"):
        bradley_terry(2, np.array([[0, 1]]), np.array([1.0]), prior=0.0)
    with pytest.raises(RuntimeError, match="no convergence"):
        bradley_terry(3, all_pairs(3), np.array([1.0, 0.3, 0.6]), max_iter=1)


def test_bradley_terry_estimates_known_strengths() -> None:
    truth = np.random.default_rng(5).normal(0.0, 1.0, 20)
    pairs = np.repeat(all_pairs(20), 200, axis=0)
    judge = simulated_comparator(truth, generator=5)
    estimate = bradley_terry(20, pairs, judge(pairs[:, 0], pairs[:, 1]), prior=0.0)
    np.testing.assert_allclose(estimate - estimate.mean(), truth - truth.mean(), atol=0.15)


def test_pagerank_is_a_distribution_favouring_the_winner() -> None:
    # 0 beats 1 and 2, 1 beats 2
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    rank = pagerank(3, pairs, np.ones(3))
    assert rank.sum() == pytest.approx(1.0)
    assert rank[0] > rank[1] > rank[2]


def test_comparator_misuse_is_reported() -> None:
    bad = CountingComparator(lambda a, b: np.ones(a.size + 1))
    with pytest.raises(ValueError, match="one probability per pair"):
        bad(np.array([0]), np.array([1]))
    out_of_range = CountingComparator(lambda a, b: np.full(a.size, 2.0))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        out_of_range(np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="sampler must be one of"):
        rank_by_comparisons(3, score_comparator([1, 2, 3]), sampler="sorted")


# ------------------------------------------------------------------------------- JointRank


def noisy_listwise_ranker(truth: np.ndarray, noise: float, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    calls: list[int] = []

    def ranker(items: np.ndarray) -> np.ndarray:
        calls.append(items.size)
        return truth[items] + rng.normal(0.0, noise, items.size)

    return ranker, calls


def test_block_designs_cover_every_item() -> None:
    sliding = block_design(100, 10, design="sliding")
    assert all(b.size == 10 for b in sliding)
    assert set(np.concatenate(sliding).tolist()) == set(range(100))
    # every pair within block_size // 2 positions shares a block
    shared = {(int(a), int(b)) for blk in sliding for a in blk for b in blk}
    assert all((i, i + 5) in shared for i in range(95))
    random = block_design(100, 10, design="random", replication=3, generator=0)
    assert len(random) == 30
    assert (np.bincount(np.concatenate(random), minlength=100) >= 3).all()
    assert all(len(set(b.tolist())) == 10 for b in random)


def test_jointrank_with_small_blocks_beats_a_random_order_by_far() -> None:
    n = 200
    truth = strengths(7, n)
    random_tau = tau_to_truth(np.random.default_rng(7).permutation(n), truth)
    for aggregator in ("win_rate", "pagerank"):
        ranker, calls = noisy_listwise_ranker(truth, 0.5, 7)
        result = joint_rank(
            n,
            ranker,
            block_size=10,
            design="random",
            replication=4,
            aggregator=aggregator,  # type: ignore[arg-type]
            workers=4,
            generator=7,
        )
        assert result.ranker_calls == len(calls) == 4 * 20
        assert max(calls) == 10
        assert result.comparisons == 80 * 45
        tau = tau_to_truth(result.order, truth)
        assert tau > 0.7 > abs(random_tau) + 0.5, (aggregator, tau, random_tau)


def test_jointrank_sliding_design_refines_an_initial_order() -> None:
    n = 200
    truth = strengths(8, n)
    initial = np.argsort(-(truth + np.random.default_rng(108).normal(0, 1.0, n)))
    ranker, _ = noisy_listwise_ranker(truth, 0.1, 8)
    result = joint_rank(
        n, ranker, block_size=20, design="sliding", order=initial, aggregator="bradley_terry"
    )
    assert result.ranker_calls == 19
    assert tau_to_truth(result.order, truth) > tau_to_truth(initial, truth) + 0.15


# ----------------------------------------------------------------------------- tournaments


def test_knockout_with_byes() -> None:
    truth = np.array([0.0, 5.0, 1.0, 3.0, 2.0])  # item 1 is best
    result = knockout(5, score_comparator(truth), generator=0)
    assert result.winner == 1
    assert result.comparisons == 4  # n - 1 matches
    assert result.rounds == 3
    assert result.rounds_won[1] == 3
    # seeds 0, 1, 2 (the best three of a bracket of 8) get first-round byes
    assert (result.rounds_won[[0, 2]] >= 1).all()
    assert result.order[0] == 1


def test_knockout_picks_the_best_of_many_more_often_than_chance() -> None:
    truth = strengths(9, 32)
    judge = matrix_comparator(1 / (1 + np.exp(-(truth[:, None] - truth[None, :]))))
    wins = [knockout(32, judge, generator=s).winner for s in range(200)]
    best_share = np.mean(np.array(wins) == np.argmax(truth))
    assert best_share > 0.3  # chance is 1/32


def test_swiss_rounds() -> None:
    truth = strengths(10, 16)
    result = swiss(16, score_comparator(truth), generator=0)
    assert result.rounds == 4
    assert result.comparisons == 4 * 8
    best = int(np.argmax(truth))
    assert result.scores[best] == 4
    assert result.order[0] == best
    odd = swiss(7, score_comparator(truth[:7]), rounds=3, generator=0)
    assert odd.comparisons == 3 * 3
    assert odd.scores.sum() == 3 * 4  # 3 matches and 1 bye per round


def test_expected_win_scores_are_seeded_and_track_strength() -> None:
    truth = strengths(11, 24)
    judge = matrix_comparator(1 / (1 + np.exp(-(truth[:, None] - truth[None, :]))))
    a = expected_win_scores(24, judge, samples=50, generator=3)
    b = expected_win_scores(24, judge, samples=50, generator=3)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.comparisons == 50 * 5 * 12
    assert (a.stderr > 0).any()
    assert tau_to_truth(a.order, truth) > 0.6


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_candidate_sets(n: int) -> None:
    judge = score_comparator(np.arange(n, dtype=float))
    for aggregator in AGGREGATORS:
        for sampler in ("all", "random", "window"):
            result = rank_by_comparisons(n, judge, sampler=sampler, aggregator=aggregator)
            assert result.order.tolist() == list(range(n))[::-1]
    assert joint_rank(n, lambda ids: ids.astype(float), block_size=3).order.size == n
    if n:
        assert knockout(n, judge).winner == n - 1
        assert swiss(n, judge).order[0] == n - 1


def test_scalar_comparator_wraps_a_per_pair_judge() -> None:
    truth = strengths(12, 30)
    asked: list[tuple[int, int]] = []

    def judge(i: int, j: int) -> bool:
        asked.append((i, j))
        return bool(truth[i] > truth[j])

    for workers in (1, 4):
        asked.clear()
        result = rank_by_comparisons(
            30, scalar_comparator(judge, workers=workers), sampler="all", aggregator="win_count"
        )
        assert result.order.tolist() == np.argsort(-truth).tolist()
        assert len(asked) == result.comparisons == 435
