"""`rankwise fuse` (with weight tuning) and `rankwise compare --vote` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rankwise.cli.main import main
from rankwise.data import make_synthetic
from rankwise.runs import evaluate_run, fuse_runs
from rankwise.runs.trec import (
    qrels_from_data,
    read_trec_run,
    run_from_scores,
    write_qrels,
    write_trec_run,
)


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    data = make_synthetic(40, num_features=8, seed=3, mean_list_length=15)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=data.num_documents)
    good = data.labels + rng.normal(scale=0.3, size=data.num_documents)
    write_trec_run(run_from_scores(data, noise, tag="noise"), tmp_path / "noise.run")
    write_trec_run(run_from_scores(data, good, tag="good"), tmp_path / "good.run")
    write_qrels(qrels_from_data(data), tmp_path / "qrels.txt")
    return tmp_path


def test_fuse_writes_the_fused_run(runs: Path) -> None:
    out = runs / "fused.run"
    argv = ["fuse", str(runs / "noise.run"), str(runs / "good.run"), "-o", str(out)]
    assert main([*argv, "--method", "rrf", "--depth", "5", "--tag", "rrf60"]) == 0
    fused = read_trec_run(out)
    assert fused.tag == "rrf60"
    expected = fuse_runs(
        [read_trec_run(runs / "noise.run"), read_trec_run(runs / "good.run")],
        method="rrf",
        depth=5,
    )
    for q, (docs, scores) in expected.by_query().items():
        got_docs, got_scores = fused.by_query()[q]
        assert sorted(got_docs) == sorted(docs)
        assert len(docs) == min(5, len(read_trec_run(runs / "good.run").by_query()[q][0]))
        np.testing.assert_allclose(sorted(got_scores), sorted(scores))


def test_fuse_tunes_weights_towards_the_good_run(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = runs / "tuned.run"
    argv = ["fuse", str(runs / "noise.run"), str(runs / "good.run"), "-o", str(out)]
    argv += ["--method", "weighted_sum", "--tune-qrels", str(runs / "qrels.txt"), "--step", "0.25"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["weights"][1] > result["weights"][0]
    qrels_metric = evaluate_run(read_trec_run(out), _qrels(runs), ["ndcg@10"]).means()
    assert qrels_metric["ndcg@10"] == pytest.approx(result["validation"]["ndcg@10"], abs=1e-9)


def _qrels(folder: Path):  # type: ignore[no-untyped-def]
    from rankwise.runs.trec import read_qrels

    return read_qrels(folder / "qrels.txt")


def test_fuse_errors_name_the_problem(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fuse", str(runs / "noise.run"), str(runs / "good.run"), "-o", str(runs / "x")]
    assert main([*argv, "--weights", "1"]) == 1
    assert "--weights: 1 given for 2 runs" in capsys.readouterr().err
    assert main([*argv, "--method", "weighted_sum"]) == 1
    assert "needs weights" in capsys.readouterr().err


def fake_run(root: Path, name: str, fold: int, values: list[float]) -> Path:
    """A finished run directory as `rankwise train` leaves it (only what compare reads)."""
    d = root / f"{name}-fold{fold}"
    d.mkdir()
    config = {
        "name": f"{name}-fold{fold}",
        "data": {"letor": {"root": "/x/letor4-mq2008", "fold": fold}},
    }
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    rows = "".join(f"q{i}\t{v}\n" for i, v in enumerate(values))
    (d / "test-per-query.tsv").write_text("qid\tndcg@10\n" + rows)
    return d


def test_compare_vote_across_folds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # fold means: A wins folds 1-2 narrowly, B wins fold 3 by a lot; C is always last
    means = {"A": [0.52, 0.52, 0.30], "B": [0.50, 0.50, 0.70], "C": [0.10, 0.10, 0.10]}
    dirs = [
        str(fake_run(tmp_path, system, fold + 1, [v, v]))
        for system, values in means.items()
        for fold, v in enumerate(values)
    ]
    assert main(["compare", *dirs, "--vote", "-m", "ndcg@10", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tasks"] == ["mq2008/fold1", "mq2008/fold2", "mq2008/fold3"]
    assert report["rules"]["plurality"]["winners"] == ["A"]
    assert report["rules"]["mean"]["winners"] == ["B"]
    assert report["condorcet_winner"] == "A"
    assert any("disagree on the winner" in n for n in report["disagreements"])
    assert main(["compare", *dirs, "--vote"]) == 0  # the table form renders
    assert "Condorcet winner: A" in capsys.readouterr().out


def test_compare_vote_rejects_duplicate_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = fake_run(tmp_path, "A", 1, [0.5])
    (tmp_path / "again").mkdir()
    b = fake_run(tmp_path / "again", "A", 1, [0.6])
    c = fake_run(tmp_path, "B", 1, [0.4])
    assert main(["compare", str(a), str(b), str(c), "--vote"]) == 1
    assert "two runs of system 'A' on task 'mq2008/fold1'" in capsys.readouterr().err
