"""Conformance properties of every registered metric (the conventions of rankwise.functional).

Hypothesis generates small batches with ties, padding and lists without a relevant
item; every property is checked for every metric in ``rankwise.metrics.METRICS`` and
every tie convention.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankwise.functional import ndcg
from rankwise.metrics import METRICS, evaluate, parse_metric

ALL_TIES = ("average", "pessimistic", "optimistic", "stable")
NAMES = sorted(METRICS)
# metrics whose values lie in [0, 1]
BOUNDED = [n for n in NAMES if n != "dcg"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def batches(draw, max_lists: int = 4, max_len: int = 7):
    b = draw(st.integers(1, max_lists))
    length = draw(st.integers(1, max_len))
    # few distinct values: ties in scores and labels are common
    scores = draw(st.lists(st.integers(-3, 3), min_size=b * length, max_size=b * length))
    labels = draw(st.lists(st.integers(0, 3), min_size=b * length, max_size=b * length))
    lengths = draw(st.lists(st.integers(0, length), min_size=b, max_size=b))
    s = torch.tensor(scores, dtype=torch.float64).reshape(b, length)
    y = torch.tensor(labels, dtype=torch.float64).reshape(b, length)
    m = torch.arange(length).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return s, y, m


def _spec(name: str, ties: str, k: int | None = 3):
    info = METRICS[name]
    text = name + (f"@{k}" if info.takes_k and k else "") + f"[ties={ties}]"
    return parse_metric(text)


def _values(name, ties, s, y, m, k=3):
    return _spec(name, ties, k)(s, y, mask=m, reduction="none")


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, atol=1e-9, equal_nan=True))


@SETTINGS
@given(batches(), st.sampled_from(NAMES), st.sampled_from(ALL_TIES))
def test_padding_invariance(batch, name, ties):
    s, y, m = batch
    pad = 3
    s2 = torch.cat([s, torch.randn(s.shape[0], pad, dtype=torch.float64) * 100], dim=1)
    y2 = torch.cat([y, torch.randint(0, 5, (s.shape[0], pad)).double()], dim=1)
    m2 = torch.cat([m, torch.zeros(s.shape[0], pad, dtype=torch.bool)], dim=1)
    # garbage at masked positions must not matter either
    s_garbage = s.masked_fill(~m, 1e6)
    assert _same(_values(name, ties, s, y, m), _values(name, ties, s2, y2, m2))
    assert _same(_values(name, ties, s, y, m), _values(name, ties, s_garbage, y, m))


@SETTINGS
@given(batches(), batches(), st.sampled_from(NAMES), st.sampled_from(ALL_TIES))
def test_other_lists_in_the_batch_change_nothing(batch, other, name, ties):
    s, y, m = batch
    so, yo, mo = other
    width = max(s.shape[1], so.shape[1])

    def widen(x, fill):
        return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=fill)

    joint_s = torch.cat([widen(s, 0.0), widen(so, 0.0)])
    joint_y = torch.cat([widen(y, 0.0), widen(yo, 0.0)])
    joint_m = torch.cat([widen(m, False), widen(mo, False)])
    alone = _values(name, ties, s, y, m)
    together = _values(name, ties, joint_s, joint_y, joint_m)[: s.shape[0]]
    assert _same(alone, together)


@SETTINGS
@given(batches(), st.sampled_from(BOUNDED), st.sampled_from(ALL_TIES))
def test_bounds(batch, name, ties):
    v = _values(name, ties, *batch)
    v = v[~torch.isnan(v)]
    assert ((v >= -1e-12) & (v <= 1 + 1e-12)).all()


@SETTINGS
@given(batches(), st.sampled_from(NAMES), st.sampled_from(ALL_TIES))
def test_strictly_monotone_score_transforms_change_nothing(batch, name, ties):
    s, y, m = batch
    for transformed in (3.0 * s + 7.0, torch.exp(s), torch.atan(s)):
        assert _same(_values(name, ties, s, y, m), _values(name, ties, transformed, y, m))


@SETTINGS
@given(batches(), st.sampled_from(NAMES))
def test_average_ties_do_not_depend_on_input_order(batch, name):
    s, y, m = batch
    # permute the real items of each row among themselves (the mask stays a prefix)
    v = _values(name, "average", s, y, m)
    for b in range(s.shape[0]):
        n = int(m[b].sum())
        p = torch.cat([torch.randperm(n), torch.arange(n, s.shape[1])])
        s[b], y[b] = s[b, p], y[b, p]
    assert _same(v, _values(name, "average", s, y, m))


@SETTINGS
@given(batches(max_lists=2, max_len=5), st.sampled_from(NAMES))
def test_average_ties_equal_the_mean_over_every_tie_order(batch, name):
    """The closed forms equal brute force: the mean over all orderings of the items,
    each evaluated with stable tie-breaking."""
    s, y, m = batch
    expected = []
    for b in range(s.shape[0]):
        n = int(m[b].sum())
        values = []
        for perm in itertools.permutations(range(n)):
            p = torch.tensor(list(perm) + list(range(n, s.shape[1])), dtype=torch.long)
            values.append(_values(name, "stable", s[b : b + 1, p], y[b : b + 1, p], m[b : b + 1]))
        stacked = torch.cat(values)
        expected.append(stacked.mean() if not torch.isnan(stacked).all() else stacked[0])
    got = _values(name, "average", s, y, m)
    assert _same(got, torch.stack(expected))


@SETTINGS
@given(batches(), st.sampled_from(("pessimistic", "average", "optimistic")))
def test_pessimistic_average_optimistic_are_ordered(batch, ties):
    s, y, m = batch
    for name in ("ndcg", "dcg", "map", "mrr", "precision", "recall", "hits", "auc", "opa"):
        lo = _values(name, "pessimistic", s, y, m)
        mid = _values(name, "average", s, y, m)
        hi = _values(name, "optimistic", s, y, m)
        ok = torch.isnan(mid) | ((lo <= mid + 1e-9) & (mid <= hi + 1e-9))
        assert ok.all(), name
    assert ties


@SETTINGS
@given(batches())
def test_ndcg_of_the_labels_themselves_is_one(batch):
    _, y, m = batch
    has_relevant = ((y > 0) & m).any(dim=1)
    for gain in ("exp2", "linear"):
        v = ndcg(y, y, mask=m, gain=gain, reduction="none")
        assert torch.allclose(v[has_relevant], torch.ones_like(v[has_relevant]))


@SETTINGS
@given(batches(), st.sampled_from(NAMES), st.sampled_from(["zero", "one", "skip"]))
def test_reductions_agree(batch, name, empty):
    s, y, m = batch
    spec = parse_metric(f"{name}[empty={empty}]")
    none = spec(s, y, mask=m, reduction="none")
    total = spec(s, y, mask=m, reduction="sum")
    mean = spec(s, y, mask=m, reduction="mean")
    assert math.isclose(float(torch.nansum(none)), float(total), abs_tol=1e-9)
    counted = m.any(dim=1) & ~torch.isnan(none)
    expected = float(none[counted].mean()) if counted.any() else 0.0
    assert math.isclose(float(mean), expected, abs_tol=1e-9)
    assert math.isfinite(float(mean))


@SETTINGS
@given(batches())
def test_evaluate_equals_each_function(batch):
    s, y, m = batch
    keys = [
        "ndcg@3",
        "dcg",
        "map@2",
        "mrr",
        "err@3",
        "precision@2",
        "recall@3",
        "hits@2",
        "r_precision",
        "auc",
        "opa",
        "ndcg@2[ties=stable,gain=linear]",
    ]
    together = evaluate(s, y, keys, mask=m, reduction="none")
    for key in keys:
        spec = parse_metric(key)
        assert _same(together[spec.key], spec(s, y, mask=m, reduction="none")), key


@pytest.mark.parametrize("name", NAMES)
def test_float32_and_float64_agree(name):
    rng = np.random.default_rng(0)
    s = torch.tensor(rng.normal(size=(20, 30)))
    y = torch.tensor(rng.integers(0, 4, size=(20, 30)), dtype=torch.float64)
    v64 = _values(name, "average", s, y, None)
    v32 = _values(name, "average", s.float(), y.float(), None)
    assert v32.dtype == torch.float32
    assert torch.allclose(v64, v32.double(), atol=1e-5, equal_nan=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name):
    rng = np.random.default_rng(1)
    s = torch.tensor(np.round(rng.normal(size=(64, 50)), 1))
    y = torch.tensor(rng.integers(0, 4, size=(64, 50)), dtype=torch.float64)
    m = torch.rand(64, 50) < 0.9
    for ties in ALL_TIES:
        cpu = _values(name, ties, s, y, m)
        gpu = _values(name, ties, s.cuda(), y.cuda(), m.cuda())
        assert gpu.is_cuda
        assert torch.allclose(cpu, gpu.cpu(), atol=1e-9, equal_nan=True)
