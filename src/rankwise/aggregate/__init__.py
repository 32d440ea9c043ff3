"""Aggregating rankings and judgements (METHODS.md section E).

- :mod:`~rankwise.aggregate.fusion`: score normalisations and fusion methods on [R, B, L]
  score tensors (CombSUM, CombMNZ, CombMAX, weighted sum, RRF, Borda);
- :mod:`~rankwise.aggregate.runs`: the same on TREC runs, and weight tuning on a
  validation run (``rankwise fuse`` on the CLI);
- :mod:`~rankwise.aggregate.pairwise`: comparators, pair samplers and aggregators
  (win count, Copeland, Bradley-Terry, PageRank, KwikSort) for large candidate sets;
- :mod:`~rankwise.aggregate.jointrank`: JointRank, overlapping blocks ranked by a listwise
  ranker and aggregated into one ranking;
- :mod:`~rankwise.aggregate.tournament`: knockout, Swiss rounds, Monte-Carlo expected win
  scores;
- :mod:`~rankwise.aggregate.voting`: Vote'n'Rank social-choice rules over systems × tasks.
"""

from rankwise.aggregate.fusion import (
    FUSION_METHODS,
    NORMALISATIONS,
    fuse,
    normalize_scores,
)
from rankwise.aggregate.jointrank import JointRanking, block_design, implicit_pairs, joint_rank
from rankwise.aggregate.pairwise import (
    AGGREGATORS,
    CountingComparator,
    PairwiseRanking,
    all_pairs,
    bradley_terry,
    copeland,
    kwiksort,
    matrix_comparator,
    pagerank,
    random_pairs,
    rank_by_comparisons,
    scalar_comparator,
    score_comparator,
    simulated_comparator,
    win_count,
    win_rate,
    window_pairs,
)
from rankwise.aggregate.runs import (
    StackedRuns,
    TunedWeights,
    fuse_runs,
    stack_runs,
    tune_run_weights,
    tune_weights,
)
from rankwise.aggregate.tournament import expected_win_scores, knockout, swiss
from rankwise.aggregate.voting import RULES, VoteReport, kendall_tau, vote

__all__ = [
    "AGGREGATORS",
    "FUSION_METHODS",
    "NORMALISATIONS",
    "RULES",
    "CountingComparator",
    "JointRanking",
    "PairwiseRanking",
    "StackedRuns",
    "TunedWeights",
    "VoteReport",
    "all_pairs",
    "block_design",
    "bradley_terry",
    "copeland",
    "expected_win_scores",
    "fuse",
    "fuse_runs",
    "implicit_pairs",
    "joint_rank",
    "kendall_tau",
    "knockout",
    "kwiksort",
    "matrix_comparator",
    "normalize_scores",
    "pagerank",
    "random_pairs",
    "rank_by_comparisons",
    "scalar_comparator",
    "score_comparator",
    "simulated_comparator",
    "stack_runs",
    "swiss",
    "tune_run_weights",
    "tune_weights",
    "vote",
    "win_count",
    "win_rate",
    "window_pairs",
]
