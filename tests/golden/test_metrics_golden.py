"""Golden parity: every metric record of allRank, Rax, scikit-learn and ranx in
``$RANKWISE_GOLDEN_DIR`` (default ../shared/golden) is reproduced by the rankwise call
with the same conventions, to 1e-6 absolute or better.

The mapping from each reference's conventions to rankwise's keyword arguments lives
here, in the test, never in rankwise's defaults:

- tie order: allRank and ranx recorded the order they used for tied scores
  (``allrank_pred_order``, ``ranx_doc_order``); items are permuted into that order and
  evaluated with ``ties="stable"``. Rax breaks ties by index (``"stable"``). sklearn
  ``ignore_ties=False`` averages tied groups (``"average"``); ``ignore_ties=True`` ranks by
  ``np.argsort(y_score)[::-1]``, whose order among tied scores depends on numpy's
  (SIMD, unstable) sort and is not recorded: lists without tied scores are compared
  exactly, lists with tied scores must lie between rankwise's ``"pessimistic"`` and
  ``"optimistic"`` values (the bounds of DCG over orderings of tied items).
- empty lists: allRank ``ndcg`` -> ``empty="one"`` (its filler_value), the others "zero";
  sklearn ``roc_auc_score`` -> NaN -> ``empty="skip"``.
- allRank ``mrr`` takes the first item with the list's *maximum* label: a per-list
  ``threshold`` equal to that maximum.
- precision@k: Rax divides by min(k, n) (``short_lists="whole"``), ranx by k (``"pad"``).

Known reference behaviours are recognised from each record's function and arguments and
from properties of its inputs, never from a record's id or a case's shape; rankwise's own
value is then computed here, independently, and asserted instead:

- allRank ``mrr`` decides "no relevant item" over the whole batch: when every real label
  of the batch is 0 it returns 0 for every list, while the same all-zero list in a batch
  with other labels gets 1 (its maximum label, 0, is found at rank 1). rankwise computes
  each list on its own: 1 for a list with a real item, 0 for an empty one.
- scikit-learn ``average_precision_score`` on a list with tied scores lets the tied items
  enter at one threshold (every relevant item of a tie group gets the precision at the
  group's end). No ordering gives that value, so no tie convention reproduces it: on such
  lists the reference is checked against that rule, computed here by hand, and
  rankwise's ``ties="average"`` against the expectation over random tie orders,
  computed here by McSherry & Najork's formula (and by enumerating the orders when there
  are few).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rankwise import functional as M
from tests.reference_rules import (
    ap_by_enumeration,
    expected_ap_over_tie_orders,
    sklearn_threshold_ap,
    tied,
)

FILES = ("allrank_metrics.json", "rax_metrics.json", "sklearn_metrics.json", "ranx_metrics.json")
ATOL = 1e-6


def _decode(x: Any) -> Any:
    if isinstance(x, str) and x in ("NaN", "Infinity", "-Infinity"):
        return float(x.replace("Infinity", "inf"))
    if isinstance(x, list):
        return [_decode(v) for v in x]
    return x


def _load(golden_dir: Path, name: str) -> dict[str, Any]:
    path = golden_dir / name
    if not path.is_file():
        pytest.fail(f"golden file {path} is missing")
    return json.loads(path.read_text())


def _tensors(case: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = torch.tensor(case["scores"], dtype=torch.float64)
    y = torch.tensor(case["labels"], dtype=torch.float64)
    m = torch.tensor(case["mask"], dtype=torch.bool)
    return s, y, m


def _permute(s, y, m, order: list[list[int]]):
    idx = torch.tensor(order, dtype=torch.long)
    return s.gather(1, idx), y.gather(1, idx), m.gather(1, idx)


def _close(actual: float, expected: float, tol: dict[str, float] | None = None) -> bool:
    if expected is None:
        return True
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(actual)
    atol = min(ATOL, (tol or {}).get("atol", ATOL) * 1e3) if tol else ATOL
    return abs(actual - expected) <= max(atol, 1e-12) + 1e-9 * abs(expected)


def _check(values: torch.Tensor | np.ndarray, expected: list[Any], record_id: str) -> None:
    got = [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
    exp = _decode(expected)
    assert len(got) == len(exp), record_id
    bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, exp, strict=True)) if not _close(g, e)]
    assert not bad, f"{record_id}: (list, rankwise, reference) {bad}"


# ----------------------------------------------------------------------------- allRank
def _allrank_batch_mrr_defect(record: dict[str, Any], case: dict[str, Any]) -> Any:
    """rankwise's values for an allRank ``mrr`` record of a batch whose real labels are all
    0 (the reference gives 0 there; see the module docstring), else None."""
    if not record["function"].endswith(".mrr"):
        return None
    _, y, m = _tensors(case)
    if bool((y.masked_fill(~m, 0.0) != 0).any()):
        return None
    ats = record["kwargs"]["ats"] or [None]
    has_item = [1.0 if bool(row.any()) else 0.0 for row in m]
    reference = np.asarray(_decode(record["value"]), dtype=np.float64)
    assert np.all(reference == 0.0), f"{record['id']}: the batch-level defect is gone"
    return [[v] * len(ats) for v in has_item]


def _allrank(record: dict[str, Any], case: dict[str, Any]) -> np.ndarray:
    s, y, m = _permute(*_tensors(case), case["allrank_pred_order"])
    kw = record["kwargs"]
    ats = kw["ats"] or [None]
    fn = record["function"].rsplit(".", 1)[1]
    columns = []
    for at in ats:
        if fn == "ndcg":
            gain = "linear" if "x (linear)" in str(kw.get("gain_function")) else "exp2"
            empty = "one" if kw.get("filler_value", 1.0) == 1.0 else "zero"
            v = M.ndcg(s, y, mask=m, k=at, gain=gain, empty=empty, ties="stable", reduction="none")
        elif fn == "dcg":
            v = M.dcg(s, y, mask=m, k=at, ties="stable", reduction="none")
        else:
            best = y.masked_fill(~m, 0).max(dim=1).values
            v = M.reciprocal_rank(
                s, y, mask=m, k=at, threshold=best, ties="stable", reduction="none"
            )
        columns.append(v)
    return torch.stack(columns, dim=1).numpy()


def test_allrank_metrics_golden(golden_dir: Path):
    data = _load(golden_dir, "allrank_metrics.json")
    assert data["records"], "no records"
    for record in data["records"]:
        case = data["cases"][record["case"]]
        defect = _allrank_batch_mrr_defect(record, case)
        expected = record["value"] if defect is None else defect
        _check(_allrank(record, case), np.asarray(expected).reshape(-1).tolist(), record["id"])


# --------------------------------------------------------------------------------- Rax
def _rax(record: dict[str, Any], case: dict[str, Any], reduction: str) -> torch.Tensor:
    s, y, m = _tensors(case)
    fn = record["function"].split(".")[1]
    kw = record["kwargs"]
    k = kw.get("topn")
    common: dict[str, Any] = {"mask": m, "ties": "stable", "reduction": reduction}
    if fn == "ndcg_metric":
        gain = "linear" if "x (linear)" in str(kw.get("gain_fn")) else "exp2"
        return M.ndcg(s, y, k=k, gain=gain, **common)
    if fn == "dcg_metric":
        gain = "linear" if "x (linear)" in str(kw.get("gain_fn")) else "exp2"
        return M.dcg(s, y, k=k, gain=gain, **common)
    if fn == "mrr_metric":
        return M.reciprocal_rank(s, y, k=k, **common)
    if fn == "ap_metric":
        return M.average_precision(s, y, k=k, **common)
    if fn == "precision_metric":
        return M.precision(s, y, k=k, short_lists="whole", **common)
    if fn == "recall_metric":
        return M.recall(s, y, k=k, **common)
    if fn == "opa_metric":
        return M.pair_accuracy(s, y, mask=m, ties="pessimistic", reduction=reduction)
    raise AssertionError(f"unmapped rax function {fn}")


def test_rax_metrics_golden(golden_dir: Path):
    data = _load(golden_dir, "rax_metrics.json")
    assert data["records"]
    for record in data["records"]:
        case = data["cases"][record["case"]]
        _check(_rax(record, case, "none"), record["per_list"], record["id"])
        _check(_rax(record, case, "mean"), [record["value"]], record["id"] + " (mean)")


# ------------------------------------------------------------------------ scikit-learn
def _sklearn(record: dict[str, Any], case: dict[str, Any], ties: str = "average") -> torch.Tensor:
    s, y, m = _tensors(case)
    fn = record["function"].rsplit(".", 1)[1]
    kw = record["kwargs"]
    if fn in ("ndcg_score", "dcg_score"):
        f = M.ndcg if fn == "ndcg_score" else M.dcg
        return f(s, y, mask=m, k=kw["k"], gain="linear", ties=ties, reduction="none")
    if fn == "average_precision_score":
        return M.average_precision(s, y, mask=m, ties="average", reduction="none")
    if fn == "roc_auc_score":
        return M.auc(s, y, mask=m, ties="average", empty="skip", reduction="none")
    raise AssertionError(f"unmapped sklearn function {fn}")


def test_sklearn_metrics_golden(golden_dir: Path):
    data = _load(golden_dir, "sklearn_metrics.json")
    assert data["records"]
    tied_ap_lists = 0
    for record in data["records"]:
        case = data["cases"][record["case"]]
        fn = record["function"].rsplit(".", 1)[1]
        # sklearn raises for single-document lists (per_list null): nothing to compare.
        expected = list(record["per_list"])
        s, y, m = _tensors(case)
        if fn == "average_precision_score":
            values = _sklearn(record, case).numpy()
            for b in range(s.shape[0]):
                scores, rel = s[b][m[b]].numpy(), (y[b][m[b]] >= 1).numpy()
                if expected[b] is None or not tied(scores):
                    continue
                tied_ap_lists += 1
                assert math.isclose(
                    expected[b], sklearn_threshold_ap(scores, rel), rel_tol=1e-9, abs_tol=1e-12
                ), (record["id"], b, "the reference's rule is not the threshold rule")
                mean = expected_ap_over_tie_orders(scores, rel)
                assert math.isclose(values[b], mean, rel_tol=1e-9, abs_tol=1e-12), (record["id"], b)
                enumerated = ap_by_enumeration(scores, rel)
                if enumerated is not None:
                    assert math.isclose(mean, enumerated, rel_tol=1e-9, abs_tol=1e-12)
                expected[b] = None  # checked above: another convention, by exactly this much
            _check(values, expected, record["id"])
            continue
        if record["kwargs"].get("ignore_ties"):
            ties_in = [tied(s[b][m[b]].numpy()) for b in range(s.shape[0])]
            lo = _sklearn(record, case, "pessimistic").numpy()
            hi = _sklearn(record, case, "optimistic").numpy()
            for b, is_tied in enumerate(ties_in):
                if is_tied and expected[b] is not None:
                    assert lo[b] - ATOL <= expected[b] <= hi[b] + ATOL, (record["id"], b)
                    expected[b] = None
            values = _sklearn(record, case, "stable")
        else:
            values = _sklearn(record, case)
        _check(values, expected, record["id"])
        # The batch value of ndcg/dcg_score is over whole padded rows (garbage scores at
        # padding), so it is only comparable for unpadded cases.
        unpadded = bool(m.all())
        exact = not any(tied(s[b].numpy()) for b in range(s.shape[0]))
        exact = exact or not record["kwargs"].get("ignore_ties")
        if record.get("value") is not None and unpadded and exact and s.shape[1] > 1:
            _check(values.mean().reshape(1), [record["value"]], record["id"] + " (batch)")
    assert tied_ap_lists > 0, "no tied average-precision list: the check above is untested"


# -------------------------------------------------------------------------------- ranx
def _ranx(record: dict[str, Any], case: dict[str, Any]) -> torch.Tensor:
    s, y, m = _tensors(case)
    # Items in ranx's own order (docids d<i> index the input positions).
    order = []
    for b, qid in enumerate(record["per_list_query_ids"]):
        docs = [int(d[1:]) for d in case["ranx_doc_order"][qid]]
        rest = [i for i in range(s.shape[1]) if i not in docs]
        order.append(docs + rest)
        assert len(docs) == int(m[b].sum())
    s, y, m = _permute(s, y, m, order)
    name, _, at = record["metric"].partition("@")
    k = int(at) if at else None
    common: dict[str, Any] = {"mask": m, "k": k, "ties": "stable", "reduction": "none"}
    if name == "ndcg":
        return M.ndcg(s, y, gain="linear", **common)
    if name == "ndcg_burges":
        return M.ndcg(s, y, gain="exp2", **common)
    if name == "map":
        return M.average_precision(s, y, **common)
    if name == "mrr":
        return M.reciprocal_rank(s, y, **common)
    if name == "precision":
        return M.precision(s, y, short_lists="pad", **common)
    if name == "recall":
        return M.recall(s, y, **common)
    if name == "hits":
        return M.hits(s, y, binary=False, **common)
    raise AssertionError(f"unmapped ranx metric {name}")


def test_ranx_metrics_golden(golden_dir: Path):
    data = _load(golden_dir, "ranx_metrics.json")
    assert data["records"]
    for record in data["records"]:
        case = data["cases"][record["case"]]
        values = _ranx(record, case)
        _check(values, record["per_list"], record["id"])
        _check(values.mean().reshape(1), [record["value"]], record["id"] + " (mean)")


# ---------------------------------------------------------------- cross-library NDCG
CROSS = {
    "rax.ndcg_metric(gain 2^y-1)": ("rax", {"gain": "exp2"}),
    "rax.ndcg_metric(gain y)": ("rax", {"gain": "linear"}),
    "allrank.ndcg(gain 2^y-1, filler 1.0)": ("allrank", {"gain": "exp2", "empty": "one"}),
    "allrank.ndcg(gain y, filler 1.0)": ("allrank", {"gain": "linear", "empty": "one"}),
    "sklearn.ndcg_score(gain y, ignore_ties=False)": ("sklearn", {"gain": "linear"}),
    "ranx.ndcg(gain y)": ("ranx", {"gain": "linear"}),
    "ranx.ndcg_burges(gain 2^y-1)": ("ranx", {"gain": "exp2"}),
}


def test_ndcg_cross_library_golden(golden_dir: Path):
    data = _load(golden_dir, "ndcg_cross_library.json")
    ranx_cases = _load(golden_dir, "ranx_metrics.json")["cases"]
    allrank_cases = _load(golden_dir, "allrank_metrics.json")["cases"]
    checked = 0
    for record in data["records"]:
        case = data["cases"][record["case"]]
        s, y, m = _tensors(case)
        for column, (library, kw) in CROSS.items():
            expected = record.get(column)
            if expected is None:
                continue
            if library == "allrank":
                order = allrank_cases[record["case"]]["allrank_pred_order"]
                ss, yy, mm = _permute(s, y, m, order)
                ties = "stable"
            elif library == "ranx":
                rc = ranx_cases[record["case"]]
                order = []
                for b in range(s.shape[0]):
                    docs = [int(d[1:]) for d in rc["ranx_doc_order"][f"q{b}"]]
                    order.append(docs + [i for i in range(s.shape[1]) if i not in docs])
                ss, yy, mm = _permute(s, y, m, order)
                ties = "stable"
            else:
                ss, yy, mm = s, y, m
                ties = "average" if library == "sklearn" else "stable"
            v = M.ndcg(ss, yy, mask=mm, k=record["k"], ties=ties, reduction="none", **kw)
            _check(v, expected, f"{record['id']} {column}")
            checked += 1
    assert checked > 100
