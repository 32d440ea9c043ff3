"""Vote'n'Rank rules on textbook profiles with known winners, missing scores, directions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rankwise.aggregate import RULES, kendall_tau, vote


def profile(ballots: list[tuple[int, str]], systems: str = "ABC") -> np.ndarray:
    """Systems x tasks table from ballots (count, order best first): score = -position."""
    columns = []
    for count, order in ballots:
        columns += [[-order.index(s) for s in systems]] * count
    return np.array(columns, dtype=float).T


def test_plurality_and_borda_disagree_and_the_condorcet_winner_is_found() -> None:
    # 3 voters A>B>C, 2 voters B>C>A, 2 voters C>B>A
    table = profile([(3, "ABC"), (2, "BCA"), (2, "CBA")])
    report = vote(table, systems=list("ABC"))
    assert report.winners["plurality"] == ["A"]
    assert report.scores["plurality"].tolist() == [3, 2, 2]
    # Borda: A 3*2 = 6; B 3 + 4 + 2 = 9; C 2 + 4 = 6
    assert report.scores["borda"].tolist() == [6, 9, 6]
    assert report.winners["borda"] == ["B"]
    # B beats A 4:3 and C 5:2 -> Condorcet and Copeland winner; C beats A 4:3
    assert report.condorcet_winner == "B"
    assert report.scores["copeland"].tolist() == [-2, 2, 0]
    assert report.preferences[1, 0] == 4 and report.preferences[0, 1] == 3
    # Minimax: worst defeats A 4 (by B and C), B 3 (by A), C 5 (by B)
    assert report.scores["minimax"].tolist() == [-4, -3, -5]
    # Dowdall: A 3 + 4/3, B 3/2 + 2 + 1, C 1 + 1 + 2
    assert report.scores["dowdall"].tolist() == pytest.approx([3 + 4 / 3, 4.5, 4.0])
    assert any("disagree on the winner" in note for note in report.disagreements)
    assert report.rankings["borda"] == ["B", "A", "C"]


def test_condorcet_cycle_has_no_winner() -> None:
    table = profile([(1, "ABC"), (1, "BCA"), (1, "CAB")])
    report = vote(table, systems=list("ABC"))
    assert report.condorcet_winner is None
    assert report.scores["copeland"].tolist() == [0, 0, 0]
    assert report.winners["borda"] == ["A", "B", "C"]  # all tied
    assert any("no Condorcet winner" in note for note in report.disagreements)


def test_ties_split_points() -> None:
    table = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.5]])
    report = vote(table, rules=["plurality", "borda", "dowdall"])
    assert report.scores["plurality"].tolist() == [1.5, 0.5, 0.0]
    assert report.scores["borda"].tolist() == [1.5 + 2, 1.5 + 0, 0 + 1]
    assert report.scores["dowdall"].tolist() == pytest.approx([0.75 + 1, 0.75 + 1 / 3, 1 / 3 + 0.5])


def test_directions_flip_lower_is_better_tasks() -> None:
    # task 0: accuracy (max), task 1: error (min); B is best on both
    table = np.array([[0.8, 0.3], [0.9, 0.1]])
    report = vote(table, systems=["A", "B"], directions=["max", "min"])
    assert report.condorcet_winner == "B"
    assert all(w == ["B"] for w in report.winners.values())
    assert report.scores["mean"].tolist() == pytest.approx([(0.8 - 0.3) / 2, (0.9 - 0.1) / 2])


def test_missing_scores_neither_help_nor_hurt() -> None:
    nan = math.nan
    # C has no score on task 1; on task 0 and 2 it is best
    table = np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 2.0], [3.0, nan, 3.0]])
    report = vote(table, systems=list("ABC"))
    assert report.missing == 1
    # Borda, full field S = 3: C gets 2 points per task it took part in -> 3 * 2;
    # on task 1 A beats B, 1 point scaled to the full field (2): A 0+2+0, B 1+0+1
    assert report.scores["borda"].tolist() == pytest.approx([2.0, 2.0, 6.0])
    assert report.scores["plurality"].tolist() == pytest.approx([1.0, 0.0, 3.0])
    # pairwise rules use only tasks both have: C beats A 2:0 and B 2:0
    assert report.preferences[2].tolist() == [2, 2, 0]
    assert report.condorcet_winner == "C"
    assert report.scores["mean"].tolist() == pytest.approx([5 / 3, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"systems without any score: \['B'\]"):
        vote(np.array([[1.0], [nan]]), systems=["A", "B"])


def test_bad_tables_are_named() -> None:
    with pytest.raises(ValueError, match="2 directions for 3 tasks"):
        vote(np.zeros((2, 3)), directions=["max", "max"])
    with pytest.raises(ValueError, match="unknown rules"):
        vote(np.zeros((2, 3)), rules=["approval"])
    with pytest.raises(ValueError, match="must be finite"):
        vote(np.array([[np.inf, 1.0], [0.0, 1.0]]))


def test_kendall_tau() -> None:
    assert kendall_tau("abc", "abc") == 1.0
    assert kendall_tau("abc", "cba") == -1.0
    assert kendall_tau("abc", "acb") == pytest.approx(1 / 3)
    assert set(RULES) == {"plurality", "borda", "dowdall", "copeland", "minimax", "mean"}
