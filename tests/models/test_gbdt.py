"""GBDT baselines behind the same fit / predict / evaluate path."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise.data import make_synthetic
from rankwise.metrics.evaluation import evaluate_scores
from rankwise.models import (
    GBDT_MODELS,
    CatBoostRanker,
    GBDTRanker,
    LightGBMRanker,
    XGBoostRanker,
)


@pytest.fixture(scope="module")
def splits():
    data = make_synthetic(120, 20, seed=3, mean_list_length=20)
    return (
        data.select_queries(range(80)),
        data.select_queries(range(80, 100)),
        data.select_queries(range(100, 120)),
    )


@pytest.mark.parametrize(
    ("cls", "objective"),
    [
        (LightGBMRanker, "lambdarank"),
        (LightGBMRanker, "rank_xendcg"),
        (XGBoostRanker, "rank:ndcg"),
        (XGBoostRanker, "rank:pairwise"),
        (CatBoostRanker, "YetiRank"),
        (CatBoostRanker, "YetiRankPairwise"),
        (CatBoostRanker, "QueryRMSE"),
        (CatBoostRanker, "PairLogit"),
    ],
)
def test_gbdt_fits_predicts_and_round_trips(cls, objective, splits):
    train, valid, test = splits
    model = cls(objective=objective, n_estimators=60, early_stopping_rounds=10)
    model.fit(train, valid)
    scores = model.predict(test)
    assert scores.shape == (test.num_documents,) and np.isfinite(scores).all()
    assert 1 <= model.best_iteration <= 60
    # better than a constant score (whose NDCG is that of a random order)
    learned = evaluate_scores(test, scores, ["ndcg@10"]).means()["ndcg@10"]
    constant = evaluate_scores(test, np.zeros(test.num_documents), ["ndcg@10"]).means()["ndcg@10"]
    assert learned > constant + 0.02
    restored = GBDTRanker.from_state(model.state)
    np.testing.assert_allclose(restored.predict(test), scores, rtol=1e-6, atol=1e-7)


def test_gbdt_checks_objective_and_width(splits):
    train = splits[0]
    with pytest.raises(ValueError, match="objective must be one of"):
        LightGBMRanker(objective="regression")
    model = XGBoostRanker(n_estimators=5).fit(train)
    with pytest.raises(ValueError, match="20"):
        model.predict(make_synthetic(5, 24, seed=0))
    assert set(GBDT_MODELS) == {"lightgbm", "xgboost", "catboost"}
    with pytest.raises(ValueError, match="YetiRank"):
        CatBoostRanker(objective="RMSE")


def test_catboost_writes_no_files(splits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    CatBoostRanker(n_estimators=5).fit(splits[0], splits[1])
    assert list(tmp_path.iterdir()) == []  # no catboost_info/
