"""Aggregating rankings and judgements: fusion of scores, pairwise preferences,
blocks of a listwise ranker, tournaments and votes (each module names its papers).

- :mod:`~rankwise.aggregate.score_fusion`: score normalizations and fusion methods on
  [R, B, L] score tensors (CombSUM, CombMNZ, CombMAX, weighted sum, RRF, Borda); the same
  on TREC runs is :mod:`rankwise.runs.fusion`;
- :mod:`~rankwise.aggregate.pairwise`: comparators, pair samplers and aggregators
  (win count, Copeland, Bradley-Terry, PageRank, KwikSort) for large candidate sets;
- :mod:`~rankwise.aggregate.jointrank`: JointRank, overlapping blocks ranked by a listwise
  ranker and aggregated into one ranking;
- :mod:`~rankwise.aggregate.tournament`: knockout, Swiss rounds, Monte-Carlo expected win
  scores;
- :mod:`~rankwise.aggregate.voting`: Vote'n'Rank social-choice rules over systems × tasks.

Every choice among methods is a registry (:data:`NORMALIZATIONS`, :data:`FUSION_METHODS`,
:data:`PAIR_SAMPLERS`, :data:`AGGREGATORS`, :data:`VOTING_RULES`), listed by
:func:`rankwise.registry.registries`.
"""

from rankwise.aggregate.jointrank import JointRanking, block_design, implicit_pairs, joint_rank
from rankwise.aggregate.pairwise import (
    AGGREGATORS,
    PAIR_SAMPLERS,
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
from rankwise.aggregate.score_fusion import (
    FUSION_METHODS,
    NORMALIZATIONS,
    fuse,
    normalize_scores,
)
from rankwise.aggregate.tournament import expected_win_scores, knockout, swiss
from rankwise.aggregate.voting import RULES, VOTING_RULES, VoteReport, kendall_tau, vote

__all__ = [
    "AGGREGATORS",
    "FUSION_METHODS",
    "NORMALIZATIONS",
    "PAIR_SAMPLERS",
    "RULES",
    "VOTING_RULES",
    "CountingComparator",
    "JointRanking",
    "PairwiseRanking",
    "VoteReport",
    "all_pairs",
    "block_design",
    "bradley_terry",
    "copeland",
    "expected_win_scores",
    "fuse",
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
    "swiss",
    "vote",
    "win_count",
    "win_rate",
    "window_pairs",
]
