"""Feature transforms: fitted on training data only, saved as JSON, exact formulas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rankwise.data import (
    Clip,
    Compose,
    QueryMinMax,
    RankingData,
    SignedLog1p,
    Standardize,
    build_transform,
    transform_from_state,
)
from rankwise.data.transforms import NotFittedError


def _data(features, offsets=None) -> RankingData:
    f = np.asarray(features, dtype=np.float32)
    n = f.shape[0]
    offsets = np.asarray(offsets if offsets is not None else [0, n], dtype=np.int64)
    return RankingData(f, np.zeros(n, np.float32), offsets, np.arange(offsets.size - 1))


def test_standardize_uses_training_statistics_only():
    train = _data([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    test = _data([[8.0, 1.0]])
    t = Standardize().fit(train)
    out = t.transform(test).features
    std = np.std([0.0, 2.0, 4.0])
    np.testing.assert_allclose(out, [[(8.0 - 2.0) / std, 1.0 - 5.0]], rtol=1e-6)
    # constant feature: std replaced by 1, so train values become exactly 0
    np.testing.assert_array_equal(t.transform(train).features[:, 1], [0, 0, 0])
    assert test.features[0, 0] == 8.0  # input untouched


def test_signed_log1p():
    out = SignedLog1p().transform(_data([[-3.0, 0.0, 10.0]])).features
    np.testing.assert_allclose(out, [[-np.log1p(3.0), 0.0, np.log1p(10.0)]], rtol=1e-6)


def test_query_minmax_is_per_query():
    data = _data([[1.0, 7.0], [3.0, 7.0], [10.0, 0.0], [20.0, 4.0]], offsets=[0, 2, 4])
    out = QueryMinMax().transform(data).features
    np.testing.assert_allclose(out, [[0, 0], [1, 0], [0, 0], [1, 1]])


def test_clip_fixed_and_quantile_bounds():
    data = _data([[-5.0], [0.0], [5.0], [100.0]])
    np.testing.assert_array_equal(Clip(-1, 1).transform(data).features.ravel(), [-1, 0, 1, 1])
    t = Clip(quantiles=(0.0, 0.5)).fit(data)
    np.testing.assert_allclose(t.transform(data).features.ravel(), [-5, 0, 2.5, 2.5])
    with pytest.raises(ValueError, match="quantiles"):
        Clip(quantiles=(0.7, 0.2))


def test_unfitted_and_mismatched_width_errors():
    with pytest.raises(NotFittedError, match="fitted on the training data"):
        Standardize().transform(_data([[1.0]]))
    t = Standardize().fit(_data([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="fitted on 2 features"):
        t.transform(_data([[1.0]]))


def test_state_dict_is_json_and_restores_the_same_transform():
    rng = np.random.default_rng(0)
    train = _data(rng.normal(size=(30, 4)) * 10, offsets=[0, 10, 30])
    test = _data(rng.normal(size=(5, 4)) * 10)
    pipeline = build_transform(
        [
            {"name": "clip", "params": {"quantiles": [0.05, 0.95]}},
            {"name": "signed_log1p"},
            {"name": "standardize"},
        ]
    )
    pipeline.fit(train)
    state = json.loads(json.dumps(pipeline.state_dict()))
    restored = transform_from_state(state)
    np.testing.assert_array_equal(
        restored.transform(test).features, pipeline.transform(test).features
    )
    assert isinstance(restored, Compose)


def test_unknown_transform_name():
    with pytest.raises(ValueError, match="unknown transform 'zscore'"):
        build_transform({"name": "zscore"})
