"""Property-based parity with the references that install from PyPI: on every input
hypothesis draws, rankwise's value (and gradient, where the reference has one) equals
scikit-learn's, ranx's, pytorch-metric-learning's and trec_eval's (pytrec_eval) under the
same conventions. Fixed golden files are a record; this is the guarantee.

Inputs include tied and extreme scores (±1e4), lists of length 1, padding, all-zero and
large graded labels, and embedding batches of one class or of two items. Where a
reference follows another convention, the convention is decided from the inputs and the
difference checked exactly (``tests/reference_rules.py``); where a reference cannot take
an input (scikit-learn's NDCG needs two documents), that input is left to rankwise's own
tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytrec_eval
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, dcg_score, ndcg_score, roc_auc_score

from rankwise import functional as F
from rankwise.runs import TrecRun, evaluate_run
from tests.reference_rules import expected_ap_over_tie_orders, sklearn_threshold_ap, tied

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def close(ours: float, reference: float) -> bool:
    """Equal to float64 rounding, scaled with the magnitude."""
    return math.isclose(ours, reference, rel_tol=1e-9, abs_tol=1e-9)


@st.composite
def lists(draw, min_len: int = 1, max_len: int = 12, max_label: int = 4):
    """One list: scores (often tied, sometimes extreme) and graded labels."""
    n = draw(st.integers(min_len, max_len))
    kind = draw(st.sampled_from(["tied", "continuous", "extreme"]))
    if kind == "tied":
        scores = draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))
    elif kind == "extreme":
        scores = draw(
            st.lists(st.sampled_from([-1e4, -1.5, 0.0, 2.5, 1e4]), min_size=n, max_size=n)
        )
    else:
        scores = draw(
            st.lists(
                st.floats(-50, 50, allow_nan=False, width=32), min_size=n, max_size=n, unique=True
            )
        )
    labels = draw(st.lists(st.integers(0, max_label), min_size=n, max_size=n))
    return np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def _one(scores: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(scores).unsqueeze(0), torch.tensor(labels).unsqueeze(0)


@st.composite
def padded_batches(draw):
    """Several lists padded to one length, garbage at the padding."""
    rows = draw(st.lists(lists(), min_size=1, max_size=4))
    width = max(len(s) for s, _ in rows)
    s = torch.full((len(rows), width), 7.0, dtype=torch.float64)
    y = torch.full((len(rows), width), 3.0, dtype=torch.float64)
    m = torch.zeros(len(rows), width, dtype=torch.bool)
    for b, (scores, labels) in enumerate(rows):
        s[b, : len(scores)] = torch.tensor(scores)
        y[b, : len(labels)] = torch.tensor(labels)
        m[b, : len(scores)] = True
    return rows, s, y, m


# ------------------------------------------------------------------------ scikit-learn
@SETTINGS
@given(batch=padded_batches(), k=st.sampled_from([None, 1, 3, 5]))
def test_ndcg_and_dcg_equal_scikit_learn(batch, k):
    rows, s, y, m = batch
    ours_ndcg = F.ndcg(s, y, mask=m, k=k, gain="linear", reduction="none")
    ours_dcg = F.dcg(s, y, mask=m, k=k, gain="linear", reduction="none")
    for b, (scores, labels) in enumerate(rows):
        if len(scores) < 2:  # scikit-learn refuses one-document lists
            continue
        ref = ndcg_score(labels[None], scores[None], k=k, ignore_ties=False)
        assert close(float(ours_ndcg[b]), ref), (scores, labels, k)
        ref = dcg_score(labels[None], scores[None], k=k, ignore_ties=False)
        assert close(float(ours_dcg[b]), ref), (scores, labels, k)


@SETTINGS
@given(row=lists(min_len=2))
def test_average_precision_equals_scikit_learn_or_differs_only_by_its_tie_rule(row):
    scores, labels = row
    relevant = labels >= 1
    assume(relevant.any())
    ours = float(F.average_precision(*_one(scores, labels)))
    reference = average_precision_score(relevant, scores)
    if not tied(scores):
        assert close(ours, reference)
    else:  # scikit-learn: one threshold per distinct score; rankwise: the expectation
        assert close(reference, sklearn_threshold_ap(scores, relevant))
        assert close(ours, expected_ap_over_tie_orders(scores, relevant))


@SETTINGS
@given(row=lists(min_len=2))
def test_auc_equals_scikit_learn_with_ties_counted_half(row):
    scores, labels = row
    relevant = labels >= 1
    assume(relevant.any() and not relevant.all())
    ours = float(F.auc(*_one(scores, labels)))
    assert close(ours, roc_auc_score(relevant, scores))


# --------------------------------------------------------------------------------- ranx
@pytest.fixture(scope="module")
def ranx():
    import ranx

    return ranx


@SETTINGS
@given(batch=padded_batches(), k=st.sampled_from([1, 3, 10]))
def test_metrics_equal_ranx_on_untied_lists(ranx, batch, k):
    rows, _, _, _ = batch
    qrels, run, kept = {}, {}, []
    for b, (scores, labels) in enumerate(rows):
        if tied(scores) or not (labels >= 1).any():  # ranx's tie order is its own
            continue
        qrels[f"q{b}"] = {f"d{i}": int(v) for i, v in enumerate(labels) if v > 0}
        run[f"q{b}"] = {f"d{i}": float(v) for i, v in enumerate(scores)}
        kept.append(b)
    assume(kept)
    names = {
        f"ndcg@{k}": lambda s, y: F.ndcg(s, y, k=k, gain="linear"),
        f"ndcg_burges@{k}": lambda s, y: F.ndcg(s, y, k=k, gain="exp2"),
        "map": lambda s, y: F.average_precision(s, y),
        "mrr": lambda s, y: F.reciprocal_rank(s, y),
        f"precision@{k}": lambda s, y: F.precision(s, y, k=k, short_lists="pad"),
        f"recall@{k}": lambda s, y: F.recall(s, y, k=k),
        f"hits@{k}": lambda s, y: F.hits(s, y, k=k, binary=False),
    }
    reference = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), list(names), return_mean=False)
    for j, b in enumerate(kept):
        s, y = _one(*rows[b])
        for name, ours in names.items():
            values = np.atleast_1d(reference[name])
            assert close(float(ours(s, y)), float(values[j])), (name, rows[b])


# -------------------------------------------------------------------- trec_eval (pytrec)
@SETTINGS
@given(batch=padded_batches(), k=st.sampled_from([1, 5, 10]))
def test_run_evaluation_equals_trec_eval_even_with_ties(batch, k):
    rows, _, _, _ = batch
    qids, docids, scores = [], [], []
    qrels: dict[str, dict[str, int]] = {}
    for b, (s, y) in enumerate(rows):
        qrels[f"q{b}"] = {f"d{i}": int(v) for i, v in enumerate(y)}
        for i, v in enumerate(s):
            qids.append(f"q{b}")
            docids.append(f"d{i}")
            scores.append(float(v))
    run = TrecRun(
        np.asarray(qids), np.asarray(docids), np.asarray(scores), np.zeros(len(qids), np.int64)
    )
    measures = {f"ndcg_cut_{k}", "map", "recip_rank", f"P_{k}", f"recall_{k}", "Rprec"}
    trec_run = {q: {} for q in qrels}
    for q, d, v in zip(qids, docids, scores, strict=True):
        trec_run[q][d] = v
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(trec_run)
    ours = evaluate_run(
        run,
        {q: {d: float(v) for d, v in docs.items()} for q, docs in qrels.items()},
        [
            f"ndcg@{k}[gain=linear,ties=stable]",
            "map[ties=stable]",
            "mrr[ties=stable]",
            f"precision@{k}[ties=stable,short_lists=pad]",
            f"recall@{k}[ties=stable]",
            "r_precision[ties=stable]",
        ],
    )
    keys = dict(
        zip(
            [f"ndcg_cut_{k}", "map", "recip_rank", f"P_{k}", f"recall_{k}", "Rprec"],
            ours.per_query,
            strict=True,
        )
    )
    for i, q in enumerate(ours.qids):
        if not any(v > 0 for v in qrels[q].values()):
            continue  # no relevant document: checked by rankwise's own empty-list tests
        for measure, key in keys.items():
            assert close(float(ours.per_query[key][i]), reference[q][measure]), (measure, rows)


# ---------------------------------------------------------------- pytorch-metric-learning
@st.composite
def embedding_batches(draw):
    n = draw(st.integers(2, 9))
    kind = draw(st.sampled_from(["mixed", "one_class", "two_items", "all_distinct"]))
    if kind == "two_items":
        n = 2
    seed = draw(st.integers(0, 2**20))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    if kind == "one_class":
        y = torch.zeros(n, dtype=torch.long)
    elif kind == "all_distinct":
        y = torch.arange(n)
    else:
        y = torch.randint(0, max(2, n // 2), (n,), generator=g)
    return x, y


def _pml_pairs():
    from pytorch_metric_learning import losses as P

    return {
        "multi_similarity": (P.MultiSimilarityLoss(), F.multi_similarity_loss),
        # rankwise's defaults are the Circle paper's (m=0.25, gamma=256), PML's 0.4 and 80
        "circle": (P.CircleLoss(m=0.25, gamma=256.0), F.circle_loss),
        "triplet_margin": (P.TripletMarginLoss(), F.triplet_margin_loss),
        "contrastive": (P.ContrastiveLoss(), F.contrastive_loss),
        "nt_xent": (P.NTXentLoss(), F.nt_xent_loss),
        "supcon": (P.SupConLoss(), F.supcon_loss),
    }


@pytest.mark.parametrize("name", sorted(_pml_pairs()))
@SETTINGS
@given(batch=embedding_batches())
def test_embedding_losses_equal_pytorch_metric_learning(name, batch):
    reference, ours = _pml_pairs()[name]
    x, y = batch
    a = x.clone().requires_grad_(True)
    b = x.clone().requires_grad_(True)
    want = reference(a, y)
    got = ours(b, y)
    want.backward()
    got.backward()
    assert close(float(got.detach()), float(want.detach())), (name, y.tolist())
    grad_a = a.grad if a.grad is not None else torch.zeros_like(x)
    grad_b = b.grad if b.grad is not None else torch.zeros_like(x)
    torch.testing.assert_close(grad_b, grad_a, rtol=1e-7, atol=1e-9)
