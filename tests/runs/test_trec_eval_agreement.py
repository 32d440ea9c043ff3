"""Agreement with trec_eval (through pytrec_eval, trec_eval's own C code) on real qrels.

A run is constructed for every judged query of the Vaswani/NPL, TREC DL 2019 passage and
Cranfield qrels in ../shared/data: part of the judged documents plus unjudged ones,
scores rounded so that ties are frequent, and some judged documents never retrieved.

Where rankwise's defaults differ from trec_eval, the test shows which options reproduce
it exactly: ``gain=linear`` for ``ndcg``/``ndcg_cut`` (rankwise's default is exp2),
``ties=stable`` with trec_eval's document order (score, then docid, descending; applied by
:func:`evaluate_run`) rather than rankwise's expected value over tie orders, and
``short_lists=pad`` for ``P_k`` (trec_eval divides by k even for a shorter run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytrec_eval

from rankwise.metrics import parse_metric
from rankwise.runs import evaluate_run
from rankwise.runs.trec import Qrels, TrecRun, read_qrels

TREC_MEASURES = {
    "ndcg_cut_10": "ndcg@10[gain=linear,ties=stable]",
    "ndcg": "ndcg[gain=linear,ties=stable]",
    "map": "map[ties=stable]",
    "map_cut_10": "map@10[ties=stable]",
    "recip_rank": "mrr[ties=stable]",
    "P_10": "precision@10[short_lists=pad,ties=stable]",
    "recall_100": "recall@100[ties=stable]",
    "Rprec": "r_precision[ties=stable]",
    "success_5": "hits@5[ties=stable]",
}


def _cranfield(data_dir: Path) -> Qrels:
    """Cranfield codes 1 (best) .. 4 and an artefact -1: relevance 5 - code, -1 -> 0."""
    qrels: Qrels = {}
    for line in (data_dir / "cranfield" / "cranqrel").read_text().split("\n"):
        if line.strip():
            q, d, code = line.split()
            qrels.setdefault(q, {})[d] = float(5 - int(code)) if int(code) > 0 else 0.0
    return qrels


def _qrels(data_dir: Path, name: str) -> Qrels:
    if name == "vaswani":
        return read_qrels(data_dir / "vaswani-npl" / "qrels")
    if name == "dl19":
        return read_qrels(data_dir / "trec-dl-2019-passage-qrels" / "qrels.dl19-passage.txt")
    return _cranfield(data_dir)


def _constructed_run(qrels: Qrels, seed: int) -> TrecRun:
    rng = np.random.default_rng(seed)
    rows = []
    for q, docs in qrels.items():
        judged = list(docs)
        keep = rng.choice(judged, size=max(1, (len(judged) * 2) // 3), replace=False).tolist()
        unjudged = [f"u{x}" for x in rng.integers(0, 50_000, size=40)]
        candidates = list(dict.fromkeys(keep + unjudged))
        relevance = np.array([docs.get(d, 0.0) for d in candidates])
        scores = np.round(rng.normal(size=len(candidates)) + 0.5 * relevance, 1)
        rows += [(q, d, float(s)) for d, s in zip(candidates, scores, strict=True)]
    return TrecRun(
        qids=np.array([r[0] for r in rows]),
        docids=np.array([r[1] for r in rows]),
        scores=np.array([r[2] for r in rows]),
        ranks=np.zeros(len(rows), dtype=np.int64),
    )


@pytest.mark.parametrize("collection", ["vaswani", "dl19", "cranfield"])
def test_trec_eval_agreement(data_dir: Path, collection: str):
    qrels = _qrels(data_dir, collection)
    run = _constructed_run(qrels, seed=7)
    trec_run: dict[str, dict[str, float]] = {}
    for q, d, s in zip(run.qids.tolist(), run.docids.tolist(), run.scores.tolist(), strict=True):
        trec_run.setdefault(q, {})[d] = s
    trec_qrels = {q: {d: int(v) for d, v in docs.items()} for q, docs in qrels.items()}
    reference = pytrec_eval.RelevanceEvaluator(trec_qrels, set(TREC_MEASURES)).evaluate(trec_run)
    ours = evaluate_run(run, qrels, list(TREC_MEASURES.values()))
    assert len(ours.qids) == len(reference) > 40
    for trec_name, key in TREC_MEASURES.items():
        spec_key = parse_metric(key).key
        expected = np.array([reference[q][trec_name] for q in ours.qids])
        np.testing.assert_allclose(ours.per_query[spec_key], expected, atol=1e-9, err_msg=trec_name)


def test_rankwise_defaults_differ_where_conventions_differ(data_dir: Path):
    qrels = read_qrels(data_dir / "trec-dl-2019-passage-qrels" / "qrels.dl19-passage.txt")
    run = _constructed_run(qrels, seed=3)
    trec = evaluate_run(run, qrels, ["ndcg@10[gain=linear,ties=stable]", "map[ties=stable]"])
    default = evaluate_run(run, qrels, ["ndcg@10", "map"])
    # exp2 gain on graded labels and the expected value over tie orders change the numbers
    assert not np.allclose(
        trec.per_query["ndcg@10[gain=linear,ties=stable]"], default.per_query["ndcg@10"]
    )
    assert not np.allclose(trec.per_query["map[ties=stable]"], default.per_query["map"])
    # ... but only through ties for MAP: with tie-free scores the two agree
    tie_free = TrecRun(run.qids, run.docids, run.scores + np.arange(len(run)) * 1e-9, run.ranks)
    a = evaluate_run(tie_free, qrels, ["map[ties=stable]"]).per_query["map[ties=stable]"]
    b = evaluate_run(tie_free, qrels, ["map"]).per_query["map"]
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_missing_queries_count_as_zero_on_request(data_dir: Path):
    qrels = read_qrels(data_dir / "vaswani-npl" / "qrels")
    run = _constructed_run(qrels, seed=1)
    dropped = sorted(qrels)[:5]
    keep = ~np.isin(run.qids, dropped)
    partial = TrecRun(run.qids[keep], run.docids[keep], run.scores[keep], run.ranks[keep])
    ignore = evaluate_run(partial, qrels, ["map"])
    zero = evaluate_run(partial, qrels, ["map"], missing="zero")
    assert len(ignore.qids) == len(qrels) - 5
    assert len(zero.qids) == len(qrels)
    assert zero.means()["map"] == pytest.approx(
        ignore.means()["map"] * (len(qrels) - 5) / len(qrels)
    )
    assert any("missing from the run" in n for n in zero.notes)
