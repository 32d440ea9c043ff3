"""The embedded synthetic data set: shape, determinism, realism, list-context effect."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise.data import make_synthetic
from rankwise.data.synthetic import MSLR_LABEL_PROPORTIONS


@pytest.fixture(scope="module")
def data():
    return make_synthetic(1500, seed=0)


def test_default_shape_is_mslr_like(data):
    assert data.num_features == 136
    assert data.num_queries == 1500
    assert set(np.unique(data.labels).tolist()) == {0, 1, 2, 3, 4}
    shares = np.bincount(data.labels.astype(int)) / data.num_documents
    np.testing.assert_allclose(shares, MSLR_LABEL_PROPORTIONS, atol=0.01)
    lengths = data.list_lengths()
    assert lengths.min() < 10 and lengths.max() > 200  # a realistic spread
    assert 0 < int((~data.has_relevant()).sum()) < 0.2 * data.num_queries
    assert data.features.dtype == np.float32
    assert np.isfinite(data.features).all()


def test_same_seed_same_data_other_seed_other_data():
    a, b = make_synthetic(30, seed=7), make_synthetic(30, seed=7)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = make_synthetic(30, seed=8)
    assert not np.array_equal(a.labels[:100], c.labels[:100])


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    x = np.c_[x, np.ones(len(x))]
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    return 1.0 - float(((x @ w - y) ** 2).mean() / y.var())


def _list_centred(data, x):
    q = data.query_index()
    means = np.zeros((data.num_queries, x.shape[1]))
    np.add.at(means, q, x)
    return x - (means / data.list_lengths()[:, None])[q]


def test_relevance_depends_on_the_list_context():
    """Features compared with their list explain relevance that raw features cannot."""

    def gain(strength: float) -> float:
        d = make_synthetic(800, seed=1, context_strength=strength)
        x = np.sign(d.features) * np.log1p(np.abs(d.features.astype(np.float64)))
        y = d.labels.astype(np.float64)
        return _r2(np.c_[x, _list_centred(d, x)], y) - _r2(x, y)

    with_context, without_context = gain(1.0), gain(0.0)
    assert with_context > 0.05
    # Centring also removes query-level shifts, so it helps a little without the effect.
    assert with_context > without_context + 0.05


def test_feature_families_and_bad_arguments():
    d = make_synthetic(20, num_features=40, seed=2)
    assert d.num_features == 40
    constant = d.features.max(0) == d.features.min(0)
    assert constant.any()
    with pytest.raises(ValueError, match="num_features"):
        make_synthetic(5, num_features=3)
    with pytest.raises(ValueError, match="num_queries"):
        make_synthetic(0)
