"""TREC run and qrels files: round trips, errors with lines, runs from model scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rankwise.data import make_synthetic
from rankwise.errors import ParseError
from rankwise.runs.trec import (
    TrecRun,
    qrels_from_data,
    read_qrels,
    read_trec_run,
    run_from_scores,
    write_qrels,
    write_trec_run,
)


def test_run_round_trip_sorts_and_renumbers(tmp_path: Path):
    run = TrecRun(
        qids=np.array(["q1", "q1", "q2"]),
        docids=np.array(["a", "b", "c"]),
        scores=np.array([0.25, 1.5, -3.0]),
        ranks=np.array([9, 9, 9]),
        tag="mine",
    )
    write_trec_run(run, tmp_path / "r.txt")
    assert (tmp_path / "r.txt").read_text().splitlines()[0] == "q1 Q0 b 1 1.5 mine"
    back = read_trec_run(tmp_path / "r.txt")
    assert back.qids.tolist() == ["q1", "q1", "q2"]
    assert back.docids.tolist() == ["b", "a", "c"]
    assert back.ranks.tolist() == [1, 2, 1]
    assert back.tag == "mine"


def test_qrels_round_trip(tmp_path: Path):
    qrels = {"1": {"d1": 2.0, "d2": 0.0}, "2": {"d3": -1.0}}
    write_qrels(qrels, tmp_path / "q.txt")
    assert read_qrels(tmp_path / "q.txt") == qrels


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2 0.4\n", 2, "expected 6 columns"),
        ("q1 Q0 d1 1 high tag\n", 1, "score a number"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", 2, "appears twice"),
        ("q1 Q0 d1 1 nan t\n", 1, "not finite"),
    ],
)
def test_run_errors_name_the_line(tmp_path: Path, content: str, line: int, message: str):
    (tmp_path / "bad.run").write_text(content)
    with pytest.raises(ParseError, match=message) as info:
        read_trec_run(tmp_path / "bad.run")
    assert info.value.line == line


def test_qrels_errors_name_the_line(tmp_path: Path):
    (tmp_path / "bad.qrels").write_text("1 0 d1 1\n1 0 d1 0\n")
    with pytest.raises(ParseError, match="judged twice") as info:
        read_qrels(tmp_path / "bad.qrels")
    assert info.value.line == 2
    (tmp_path / "bad.qrels").write_text("1 0 d1 yes\n")
    with pytest.raises(ParseError, match="not a number"):
        read_qrels(tmp_path / "bad.qrels")


def test_run_from_scores_ranks_within_queries():
    data = make_synthetic(3, num_features=8, seed=0)
    scores = np.random.default_rng(0).normal(size=data.num_documents)
    run = run_from_scores(data, scores, tag="model")
    for q in range(data.num_queries):
        lo, hi = data.query_offsets[q], data.query_offsets[q + 1]
        best = lo + np.argmax(scores[lo:hi])
        assert run.ranks[best] == 1
        assert sorted(run.ranks[lo:hi].tolist()) == list(range(1, hi - lo + 1))
    qrels = qrels_from_data(data)
    assert set(qrels) == {str(q) for q in data.qids}
    assert qrels[str(data.qids[0])][str(data.docids[0])] == float(data.labels[0])
