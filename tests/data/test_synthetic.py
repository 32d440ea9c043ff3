"""The embedded synthetic data set: shape, determinism, realism, list-context effect."""

from __future__ import annotations

import numpy as np
import pytest

from rankwise.data import make_synthetic, synthetic_teacher
from rankwise.data.synthetic import MSLR_LABEL_PROPORTIONS
from rankwise.metrics import evaluate_scores


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


def _quadratic_of_principal_components(x: np.ndarray, k: int = 8) -> np.ndarray:
    """The top-k principal components of x and all their pairwise products."""
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    p = x @ vt[:k].T
    i, j = np.triu_indices(k)
    return np.c_[p, p[:, i] * p[:, j]]


def test_relevance_depends_on_the_list_context():
    """The list-relative part of relevance is (nearly) a quadratic function of the
    list-centred features, and (nearly) unpredictable from the raw features alone."""
    d = make_synthetic(800, seed=1)
    teacher = synthetic_teacher(800, seed=1)
    assert teacher.relative.shape == d.labels.shape
    x = np.sign(d.features) * np.log1p(np.abs(d.features.astype(np.float64)))
    x = (x - x.mean(0)) / (x.std(0) + 1e-12)
    per_item = _r2(_quadratic_of_principal_components(x), teacher.relative)
    from_list = _r2(_quadratic_of_principal_components(_list_centred(d, x)), teacher.relative)
    assert per_item < 0.15
    assert from_list > 0.6
    # the list's own estimate of its shift recovers the relative part
    assert np.corrcoef(teacher.relative, teacher.relative_from_list)[0, 1] > 0.95


def test_teacher_scores_rank_the_lists():
    """The noiseless teacher ranks well; without its context term it does not."""
    d = make_synthetic(400, seed=2)
    teacher = synthetic_teacher(400, seed=2)
    full = evaluate_scores(d, teacher.score(), ["ndcg@10"]).means()["ndcg@10"]
    no_context = evaluate_scores(d, teacher.score(context=False), ["ndcg@10"]).means()["ndcg@10"]
    from_list = evaluate_scores(d, teacher.score(from_list=True), ["ndcg@10"]).means()["ndcg@10"]
    assert full > 0.7
    assert no_context < full - 0.2
    assert from_list > full - 0.05
    # no context effect: the labels follow the absolute part only
    flat = make_synthetic(400, seed=2, context_strength=0.0)
    flat_teacher = synthetic_teacher(400, seed=2, context_strength=0.0)
    np.testing.assert_allclose(flat_teacher.score(), flat_teacher.score(context=False))
    score = flat_teacher.score(context=False)
    assert evaluate_scores(flat, score, ["ndcg@10"]).means()["ndcg@10"] > 0.7


def test_feature_families_and_bad_arguments():
    d = make_synthetic(20, num_features=40, seed=2)
    assert d.num_features == 40
    constant = d.features.max(0) == d.features.min(0)
    assert constant.any()
    with pytest.raises(ValueError, match="num_features"):
        make_synthetic(5, num_features=3)
    with pytest.raises(ValueError, match="num_queries"):
        make_synthetic(0)
    with pytest.raises(ValueError, match="context_dims"):
        make_synthetic(5, context_dims=9)
