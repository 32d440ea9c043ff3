"""Metric strings, conventions in keys and descriptions, and the accumulator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rankwise import functional as M
from rankwise.metrics import MetricAccumulator, parse_metric, parse_metrics


@pytest.mark.parametrize(
    ("text", "name", "k", "key"),
    [
        ("ndcg@10", "ndcg", 10, "ndcg@10"),
        ("NDCG@10", "ndcg", 10, "ndcg@10"),
        ("map", "map", None, "map"),
        ("MAP@100", "map", 100, "map@100"),
        ("mrr@10", "mrr", 10, "mrr@10"),
        ("err@20", "err", 20, "err@20"),
        ("P@5", "precision", 5, "precision@5"),
        ("rprec", "r_precision", None, "r_precision"),
        ("ndcg@5[gain=linear, empty=one]", "ndcg", 5, "ndcg@5[empty=one,gain=linear]"),
        ("ndcg@5[gain=exp2]", "ndcg", 5, "ndcg@5"),  # a default is not an override
    ],
)
def test_parse(text, name, k, key):
    spec = parse_metric(text)
    assert (spec.name, spec.k, spec.key) == (name, k, key)
    assert parse_metric(spec.key).key == key  # keys parse back to themselves


def test_describe_states_every_convention():
    assert parse_metric("ndcg@10").describe() == "ndcg@10 [gain=exp2, empty=zero, ties=average]"
    spec = parse_metric("map", defaults={"empty": "one", "gain": "linear"})
    assert spec.describe() == "map [threshold=1, empty=one, ties=average]"  # gain n/a to map


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ndgc@10", "unknown metric 'ndgc'"),
        ("auc@5", "auc has no cut-off"),
        ("ndcg@10[gian=linear]", "no option 'gian'"),
        ("ndcg@10[gain=log]", "gain must be one of"),
        ("ndcg@0", "k must be a positive integer"),
        ("ndcg@@", "cannot parse"),
        ("ndcg[gain]", "must be key=value"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_metric(text)


def test_duplicate_keys_are_an_error():
    with pytest.raises(ValueError, match="listed twice"):
        parse_metrics(["ndcg@10", "NDCG@10"])


def test_spec_calls_the_function_with_its_options():
    s = torch.tensor([[3.0, 2.0, 1.0]])
    y = torch.tensor([[0.0, 0.0, 1.0]])
    assert (
        parse_metric("ndcg@3[gain=linear]")(s, y).item() == M.ndcg(s, y, k=3, gain="linear").item()
    )


def test_accumulator_keeps_per_query_values():
    acc = MetricAccumulator(["ndcg@2", "mrr[empty=skip]"])
    s1 = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0]])
    y1 = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    acc.update(s1, y1, qids=["a", "b"])
    acc.update(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]), qids=["c"])
    assert acc.qids() == ["a", "b", "c"]
    per_query = acc.per_query()
    assert per_query["ndcg@2"].tolist() == pytest.approx([1.0, 1 / math.log2(3), 0.0])
    assert math.isnan(per_query["mrr[empty=skip]"][2])
    means = acc.compute()
    assert means["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 3)
    assert means["mrr[empty=skip]"] == pytest.approx(0.75)  # c is skipped
    assert acc.lists_without_relevant == 1
    with pytest.raises(ValueError, match="already accumulated"):
        acc.update(s1[:1], y1[:1], qids=["a"])
    with pytest.raises(ValueError, match="2 qids for a batch of 1"):
        acc.update(s1[:1], y1[:1], qids=["x", "y"])


def test_accumulator_with_padding_equals_one_batch():
    rng = np.random.default_rng(0)
    s = torch.tensor(rng.normal(size=(6, 8)))
    y = torch.tensor(rng.integers(0, 3, size=(6, 8)), dtype=torch.float64)
    m = torch.tensor(rng.random((6, 8)) < 0.8)
    acc = MetricAccumulator(["ndcg@5", "map"])
    acc.update(s[:2], y[:2], mask=m[:2])
    acc.update(s[2:], y[2:], mask=m[2:])
    assert acc.compute()["ndcg@5"] == pytest.approx(M.ndcg(s, y, mask=m, k=5).item())
    assert acc.compute()["map"] == pytest.approx(M.average_precision(s, y, mask=m).item())
