"""Social-choice ranking of systems across tasks (Vote'n'Rank).

Rofin et al., "Vote'n'Rank: Revision of Benchmarking with Social Choice Theory" (EACL
2023): treat every task (data set, fold, metric) as a voter whose ballot is the order of
the systems by their score on it, and rank the systems by a voting rule rather than by
the mean score, which lets one task with a large spread decide.

Input: a table ``scores`` [S, T] (systems × tasks, NaN = missing) and a direction per
task (``"max"``: higher is better, ``"min"``: lower is better). Equal scores on a task
tie. Rules (every rule's score is *higher is better*):

- ``plurality``: each task gives 1 point to its best system (split equally on a tie);
- ``borda``: on each task a system gets one point per system it beats (1/2 per tie);
- ``dowdall``: ``1 / position`` on each task (tied systems share the mean of their
  positions' points);
- ``copeland``: pairwise majority: ``a`` beats ``b`` if more tasks rank ``a`` above ``b``
  than the reverse; score = majority wins − majority losses;
- ``minimax``: score = − (largest number of tasks by which any other system is preferred
  to this one), i.e. the system whose worst pairwise defeat is smallest wins;
- ``mean``: the mean score (sign flipped on ``"min"`` tasks), the usual baseline.

Condorcet winner: a system that beats every other one by pairwise majority;
``VoteReport.condorcet_winner`` is None when none exists (e.g. a cycle).

Missing scores: a system without a score on a task does not take part in that task's
vote. Positional rules (plurality, borda, dowdall) rescale the points of a task with
``m`` participants to the full field (Borda points × ``(S-1)/(m-1)``, positions ×
``(S-1)/(m-1)`` before Dowdall's ``1/position``, plurality unchanged) and a system's
total is ``T`` × its mean over the tasks it took part in, so nothing changes when no
score is missing and a missing task neither helps nor hurts. Pairwise rules use, for
each pair, the tasks where both have a score. ``mean`` averages the tasks present.

Complexity: ``O(S^2 T)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rankwise.registry import Registry

FloatTable = npt.NDArray[np.float64]

#: Voting rules by name (kind ``"voting_rule"``).
VOTING_RULES: Registry[npt.NDArray[np.float64]] = Registry(
    "voting_rule", per_call=("table", "preferences")
)
Direction = Literal["max", "min"]


def _oriented(scores: npt.ArrayLike, directions: Sequence[str] | None) -> npt.NDArray[np.float64]:
    table = np.asarray(scores, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"vote: scores must be [systems, tasks], got shape {table.shape}")
    if np.isinf(table).any():
        raise ValueError("vote: scores must be finite (use NaN for a missing score)")
    if directions is None:
        return table
    if len(directions) != table.shape[1]:
        raise ValueError(f"vote: {len(directions)} directions for {table.shape[1]} tasks")
    bad = [d for d in directions if d not in ("max", "min")]
    if bad:
        raise ValueError(f"vote: directions must be 'max' or 'min', got {bad}")
    sign = np.array([1.0 if d == "max" else -1.0 for d in directions])
    return np.asarray(table * sign, dtype=np.float64)


def pairwise_preferences(table: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``N[a, b]``: tasks (with both scores present) where ``a`` scores strictly higher."""
    a = table[:, None, :]
    b = table[None, :, :]
    wins = np.where(np.isnan(a) | np.isnan(b), 0.0, (a > b).astype(np.float64))
    return np.asarray(wins.sum(axis=2), dtype=np.float64)


def _positional(table: npt.NDArray[np.float64], rule: str) -> npt.NDArray[np.float64]:
    """A positional rule's total per system (plurality, borda or dowdall; module
    docstring), rescaled over the tasks each system took part in."""
    systems, tasks = table.shape
    present = ~np.isnan(table)
    points = np.full_like(table, np.nan)
    for t in range(tasks):
        idx = np.flatnonzero(present[:, t])
        m = idx.size
        if m == 0:
            continue
        col = table[idx, t]
        better = (col[None, :] > col[:, None]).sum(1)  # systems strictly better
        tied = (col[None, :] == col[:, None]).sum(1)  # including itself
        scale = (systems - 1) / (m - 1) if m > 1 else 1.0
        if rule == "plurality":
            points[idx, t] = np.where(better == 0, 1.0 / tied, 0.0)
        elif rule == "borda":
            worse = m - better - tied
            points[idx, t] = (worse + 0.5 * (tied - 1)) * scale
        else:  # dowdall: positions better+1 .. better+tied share their 1/position points
            out = np.empty(m)
            for i in range(m):
                positions = 1 + (better[i] + np.arange(tied[i])) * scale
                out[i] = np.mean(1.0 / positions)
            points[idx, t] = out
    participated = present.sum(1)
    mean = np.where(participated > 0, np.nansum(points, 1) / np.maximum(participated, 1), 0.0)
    return np.asarray(mean * tasks, dtype=np.float64)


@VOTING_RULES.register("plurality")
def plurality(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """1 point per task to its best system (split on a tie)."""
    return _positional(table, "plurality")


@VOTING_RULES.register("borda")
def borda(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """One point per system beaten on each task (1/2 per tie)."""
    return _positional(table, "borda")


@VOTING_RULES.register("dowdall")
def dowdall(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """``1 / position`` on each task (tied systems share their positions' points)."""
    return _positional(table, "dowdall")


@VOTING_RULES.register("copeland")
def copeland_rule(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """Pairwise-majority wins minus losses."""
    return np.asarray(np.sign(preferences - preferences.T).sum(1), dtype=np.float64)


@VOTING_RULES.register("minimax")
def minimax(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """Minus the largest number of tasks by which another system is preferred."""
    if preferences.shape[0] < 2:
        return np.zeros(preferences.shape[0])
    return np.asarray(-preferences.T.max(1), dtype=np.float64)


@VOTING_RULES.register("mean")
def mean_score(table: FloatTable, preferences: FloatTable) -> FloatTable:
    """The mean score over the tasks present (sign flipped on ``"min"`` tasks)."""
    return np.asarray(np.nanmean(table, axis=1), dtype=np.float64)


#: The rules in report order (the order they were registered).
RULES: tuple[str, ...] = tuple(VOTING_RULES.names(sort=False))  # the report's column order


@dataclass
class VoteReport:
    """Rankings of the systems under every rule, their disagreements, the Condorcet winner."""

    systems: list[str]
    tasks: list[str]
    scores: dict[str, npt.NDArray[np.float64]]  # rule -> score per system (higher better)
    rankings: dict[str, list[str]]  # rule -> systems, best first (ties by input order)
    winners: dict[str, list[str]]  # rule -> every system tied for first
    condorcet_winner: str | None
    preferences: npt.NDArray[np.float64]  # [S, S] pairwise task counts
    missing: int  # missing (system, task) scores
    disagreements: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: every rule's ranking, winners and scores, the Condorcet winner."""
        return {
            "systems": self.systems,
            "tasks": self.tasks,
            "rules": {
                rule: {
                    "ranking": self.rankings[rule],
                    "winners": self.winners[rule],
                    "scores": dict(zip(self.systems, self.scores[rule].tolist(), strict=True)),
                }
                for rule in self.scores
            },
            "condorcet_winner": self.condorcet_winner,
            "missing_scores": self.missing,
            "disagreements": self.disagreements,
        }


def kendall_tau(first: Sequence[str], second: Sequence[str]) -> float:
    """Kendall's tau between two orderings of the same items (no ties)."""
    pos = {x: i for i, x in enumerate(second)}
    r = np.array([pos[x] for x in first])
    n = r.size
    if n < 2:
        return 1.0
    i, j = np.triu_indices(n, k=1)
    concordant = np.sign(r[j] - r[i]).sum()
    return float(concordant / (n * (n - 1) / 2))


def vote(
    scores: npt.ArrayLike,
    *,
    systems: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    directions: Sequence[Direction] | None = None,
    rules: Sequence[str] = RULES,
) -> VoteReport:
    """Rank systems across tasks by each voting rule (definitions in the module docstring).

    ``scores`` [S, T] with NaN for a missing score; ``directions`` per task (default all
    ``"max"``). A system with no score at all is an error (it cannot be ranked).
    """
    table = _oriented(scores, directions)
    n_systems, n_tasks = table.shape
    systems = [f"system{i}" for i in range(n_systems)] if systems is None else list(systems)
    tasks = [f"task{j}" for j in range(n_tasks)] if tasks is None else list(tasks)
    if len(systems) != n_systems or len(tasks) != n_tasks:
        raise ValueError(
            f"vote: {len(systems)} system names and {len(tasks)} task names for a "
            f"{n_systems} x {n_tasks} table"
        )
    unknown = [r for r in rules if r not in VOTING_RULES]
    if unknown:
        raise ValueError(f"vote: unknown rules {unknown}; known: {VOTING_RULES.names()}")
    rule_functions = {r: VOTING_RULES[r] for r in rules}
    empty = [systems[i] for i in range(n_systems) if np.isnan(table[i]).all()]
    if empty:
        raise ValueError(f"vote: systems without any score: {empty}")
    prefs = pairwise_preferences(table)
    majority = np.sign(prefs - prefs.T)  # +1: row beats column by majority
    out: dict[str, npt.NDArray[np.float64]] = {}
    for rule, function in rule_functions.items():
        out[rule] = function(table, prefs)
    rankings, winners = {}, {}
    for rule, values in out.items():
        order = np.lexsort((np.arange(n_systems), -values))
        rankings[rule] = [systems[i] for i in order]
        best = values.max()
        winners[rule] = [
            systems[i] for i in order if np.isclose(values[i], best, rtol=0, atol=1e-12)
        ]
    beats_all = [
        i for i in range(n_systems) if all(majority[i, j] > 0 for j in range(n_systems) if j != i)
    ]
    condorcet = systems[beats_all[0]] if beats_all else None
    notes = []
    distinct = {tuple(w) for w in winners.values()}
    if len(distinct) > 1:
        by_winner = ", ".join(f"{rule}: {'/'.join(w)}" for rule, w in winners.items())
        notes.append(f"rules disagree on the winner ({by_winner})")
    names = list(rankings)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            tau = kendall_tau(rankings[names[a]], rankings[names[b]])
            if tau < 1.0:
                notes.append(f"{names[a]} vs {names[b]}: Kendall tau {tau:.2f}")
    if condorcet is None and n_systems > 1:
        notes.append("no Condorcet winner (every system loses or ties a pairwise majority)")
    return VoteReport(
        systems=systems,
        tasks=tasks,
        scores=out,
        rankings=rankings,
        winners=winners,
        condorcet_winner=condorcet,
        preferences=prefs,
        missing=int(np.isnan(table).sum()),
        disagreements=notes,
    )
