"""Rankers: the :class:`Scorer` contract, neural rankers (registered in :data:`MODELS`),
gradient-boosted tree baselines (:data:`GBDT_MODELS`), and matrix factorisation for
recommendation."""

from rankwise.models.base import MODELS, RankingModel, Scorer, build_model
from rankwise.models.context import ContextAwareRanker
from rankwise.models.ensemble import ScoreEnsemble
from rankwise.models.factorization import MatrixFactorization, popularity_scores
from rankwise.models.gbdt import (
    GBDT_MODELS,
    CatBoostRanker,
    GBDTRanker,
    LightGBMRanker,
    XGBoostRanker,
)
from rankwise.models.grownet import GrowNet
from rankwise.models.mlp import LinearScorer, MLPScorer

__all__ = [
    "GBDT_MODELS",
    "MODELS",
    "CatBoostRanker",
    "ContextAwareRanker",
    "GBDTRanker",
    "GrowNet",
    "LightGBMRanker",
    "LinearScorer",
    "MLPScorer",
    "MatrixFactorization",
    "RankingModel",
    "ScoreEnsemble",
    "Scorer",
    "XGBoostRanker",
    "build_model",
    "popularity_scores",
]
