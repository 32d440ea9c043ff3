"""`rankwise evaluate` on runs and on scored data: values, comparison, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from rankwise.cli.main import main
from rankwise.data import make_synthetic, write_parquet, write_svmlight
from rankwise.metrics import evaluate_scores
from rankwise.runs.trec import qrels_from_data, run_from_scores, write_qrels, write_trec_run


@pytest.fixture
def setup(tmp_path: Path):
    data = make_synthetic(60, num_features=10, seed=2, mean_list_length=20)
    rng = np.random.default_rng(0)
    weak = rng.normal(size=data.num_documents)
    strong = data.labels + rng.normal(scale=0.5, size=data.num_documents)
    write_trec_run(run_from_scores(data, weak, tag="weak"), tmp_path / "weak.run")
    write_trec_run(run_from_scores(data, strong, tag="strong"), tmp_path / "strong.run")
    write_qrels(qrels_from_data(data), tmp_path / "qrels.txt")
    return data, weak, strong, tmp_path


def test_json_values_and_significance(setup, capsys):
    data, _, strong, tmp = setup
    argv = [
        "evaluate",
        "--run",
        str(tmp / "weak.run"),
        "--run",
        str(tmp / "strong.run"),
        "--qrels",
        str(tmp / "qrels.txt"),
        "-m",
        "ndcg@10",
        "-m",
        "map",
        "--format",
        "json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    expected = evaluate_scores(data, strong, ["ndcg@10", "map"]).means()
    got = out["systems"]["strong.run"]
    assert got["ndcg@10"]["mean"] == pytest.approx(expected["ndcg@10"])
    assert got["map"]["mean"] == pytest.approx(expected["map"])
    assert got["ndcg@10"]["significant"] and got["ndcg@10"]["delta"] > 0
    assert out["baseline"] == "weak.run"
    assert out["conventions"]["ndcg@10"] == "ndcg@10 [gain=exp2, empty=zero, ties=average]"
    low, high = got["map"]["ci"]
    assert low < got["map"]["mean"] < high


def test_table_states_conventions_and_marks(setup, capsys):
    _, _, _, tmp = setup
    argv = [
        "evaluate",
        "--run",
        str(tmp / "weak.run"),
        "--run",
        str(tmp / "strong.run"),
        "--qrels",
        str(tmp / "qrels.txt"),
        "-m",
        "ndcg@5",
        "--empty",
        "one",
        "--test",
        "wilcoxon",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ndcg@5 [gain=exp2, empty=one, ties=average]" in out
    assert "▲" in out
    assert "wilcoxon test" in out


def test_per_query_tsv(setup):
    data, _, _, tmp = setup
    argv = [
        "evaluate",
        "--run",
        str(tmp / "strong.run"),
        "--qrels",
        str(tmp / "qrels.txt"),
        "-m",
        "mrr",
        "--per-query",
        str(tmp / "pq.tsv"),
    ]
    assert main(argv) == 0
    with open(tmp / "pq.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == data.num_queries
    assert {r["metric"] for r in rows} == {"mrr"}


def test_scored_svmlight_and_parquet(setup, capsys):
    data, _, strong, tmp = setup
    write_svmlight(data, tmp / "d.txt")
    np.savetxt(tmp / "scores.txt", strong)
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(tmp / "d.txt"),
                "--scores",
                str(tmp / "scores.txt"),
                "-m",
                "ndcg@10",
                "--format",
                "json",
            ]
        )
        == 0
    )
    first = json.loads(capsys.readouterr().out)
    expected = evaluate_scores(data, strong, ["ndcg@10"]).means()["ndcg@10"]
    assert first["systems"]["scores.txt"]["ndcg@10"]["mean"] == pytest.approx(expected, abs=1e-6)
    import pyarrow.parquet as pq

    write_parquet(data, tmp / "d.parquet", layout="list")
    table = pq.read_table(tmp / "d.parquet").append_column("model", [strong])
    pq.write_table(table, tmp / "d.parquet")
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(tmp / "d.parquet"),
                "--scores",
                "model",
                "-m",
                "ndcg@10",
                "--format",
                "json",
            ]
        )
        == 0
    )
    second = json.loads(capsys.readouterr().out)
    assert second["systems"]["model"]["ndcg@10"]["mean"] == pytest.approx(expected, abs=1e-6)


def test_usage_errors(setup, capsys):
    _, _, _, tmp = setup
    assert main(["evaluate", "--run", str(tmp / "weak.run"), "-m", "map"]) == 1
    assert "--run needs --qrels" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(tmp / "weak.run"),
                "--qrels",
                str(tmp / "qrels.txt"),
                "-m",
                "ndgc@10",
            ]
        )
        == 1
    )
    assert "unknown metric" in capsys.readouterr().err
